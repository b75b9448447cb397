import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Forbidden, TokenMissing } from '../errors.js'
import { AdminTokenAuthenticator, ADMIN_TOKEN_PREFIX } from '../admin/admin-token.js'

export const METRICS_TOKEN_PREFIX = 'wpag_metrics_'

/**
 * Who may scrape /_gateway/metrics: the holder of the metrics token (a
 * scraper needs nothing more), or anyone the admin routes let in (the admin
 * API token, a WordPress administrator). Both tokens are checked as the
 * admin token is: argon2id, remembered once verified, failures throttled.
 */
export function metricsGuard (app: FastifyInstance) {
  const { admin, metrics } = app.config
  const chain = app.authentication.with([
    new AdminTokenAuthenticator(metrics.tokenHash, app.throttle, METRICS_TOKEN_PREFIX, 'metrics-token'),
    new AdminTokenAuthenticator(admin.apiTokenHash, app.throttle, ADMIN_TOKEN_PREFIX)
  ])

  return async function guard (request: FastifyRequest): Promise<void> {
    const identity = await chain.authenticate(request)
    if (identity === null) throw new TokenMissing()
    if (identity.method !== 'admintoken' && !identity.roles.includes('administrator')) throw new Forbidden()
  }
}
