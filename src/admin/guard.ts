import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Forbidden, TokenMissing } from '../errors.js'
import { AdminTokenAuthenticator } from './admin-token.js'

export { ADMIN_TOKEN_PREFIX } from './admin-token.js'

declare module 'fastify' {
  interface FastifyRequest {
    adminActor: string | null
  }
}

/**
 * Who may use /_gateway/admin/: the holder of the admin API token, or a
 * WordPress administrator proved by any enabled method (the same chain as
 * every other request, with the admin token tried first).
 */
export function adminGuard (app: FastifyInstance) {
  const chain = app.authentication.with([new AdminTokenAuthenticator(app.config.admin.apiTokenHash, app.throttle)])

  return async function guard (request: FastifyRequest): Promise<void> {
    const identity = await chain.authenticate(request)
    if (identity === null) throw new TokenMissing()
    if (identity.method === 'admintoken') {
      request.adminActor = 'admin-api-token'
      return
    }
    if (!identity.roles.includes('administrator')) throw new Forbidden()
    request.adminActor = `user:${identity.userId}`
  }
}
