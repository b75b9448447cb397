import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import { ADMIN_TOKEN_PREFIX } from '../../admin/guard.js'
import { METRICS_TOKEN_PREFIX } from '../../metrics/guard.js'
import type { Command } from '../command.js'

/**
 * An admin API token and the argon2id hash the config keeps of it
 * (admin.apiTokenHash), or a scrape-only token for /_gateway/metrics
 * (metrics.tokenHash). The token is shown once and stored nowhere.
 */
export async function adminTokenText (metrics: boolean): Promise<string> {
  const token = (metrics ? METRICS_TOKEN_PREFIX : ADMIN_TOKEN_PREFIX) + randomBytes(32).toString('base64url')
  const digest = await hash(token) // argon2id is the library's default
  return metrics
    ? `metrics token (give it to the scraper; it is not stored anywhere):\n  ${token}\n\nconfig/gateway.yaml:\n  metrics:\n    tokenHash: "${digest}"\n`
    : `admin API token (give it to the operator; it is not stored anywhere):\n  ${token}\n\nconfig/gateway.yaml:\n  admin:\n    apiTokenHash: "${digest}"\n`
}

export const adminToken: Command = {
  name: 'admin-token',
  summary: 'make an admin API token (or a metrics token) and the hash for the config',
  usage: '[--metrics]',
  description: `
Prints a new admin API token once, with the argon2id hash to put in
config/gateway.yaml under admin.apiTokenHash; only the hash is stored. With
--metrics, a scrape-only token for /_gateway/metrics and its metrics.tokenHash.
Offline: nothing is sent anywhere. Same as npm run admin-token.`,
  options: { metrics: { type: 'boolean', description: 'a scrape-only metrics token instead' } },
  async run (args) {
    process.stdout.write(await adminTokenText(args.values.metrics === true))
  }
}
