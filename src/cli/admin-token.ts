import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import { ADMIN_TOKEN_PREFIX } from '../admin/guard.js'
import { METRICS_TOKEN_PREFIX } from '../metrics/guard.js'

// Makes an admin API token and the argon2id hash the config keeps of it
// (admin.apiTokenHash), or with --metrics a scrape-only token for
// /_gateway/metrics (metrics.tokenHash). The token is shown once and stored nowhere.
const metrics = process.argv.includes('--metrics')
const token = (metrics ? METRICS_TOKEN_PREFIX : ADMIN_TOKEN_PREFIX) + randomBytes(32).toString('base64url')
const digest = await hash(token) // argon2id is the library's default
process.stdout.write(metrics
  ? `metrics token (give it to the scraper; it is not stored anywhere):\n  ${token}\n\nconfig/gateway.yaml:\n  metrics:\n    tokenHash: "${digest}"\n`
  : `admin API token (give it to the operator; it is not stored anywhere):\n  ${token}\n\nconfig/gateway.yaml:\n  admin:\n    apiTokenHash: "${digest}"\n`)
