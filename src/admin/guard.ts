import type { FastifyInstance, FastifyRequest } from 'fastify'
import { CsrfTokenInvalid, DashboardSessionEnded, Forbidden, TokenMissing } from '../errors.js'
import { AdminTokenAuthenticator } from './admin-token.js'
import { assertSameOrigin, readSessionCookie } from '../dashboard/cookie.js'
import { actorOf, csrfMatches, type DashboardSession } from '../dashboard/sessions.js'

export { ADMIN_TOKEN_PREFIX } from './admin-token.js'

declare module 'fastify' {
  interface FastifyRequest {
    adminActor: string | null
    /** Set when the caller is a dashboard session (cookie) rather than a credential header. */
    dashboardSession: DashboardSession | null
  }
}

// GET and HEAD change nothing on the admin routes: everything else needs the CSRF token.
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Who may use /_gateway/admin/: the holder of the admin API token, or a
 * WordPress administrator proved by any enabled method (the same chain as
 * every other request, with the admin token tried first); without any
 * credential, a dashboard session (cookie), whose changes must also come
 * from the dashboard's origin and carry its CSRF token. A credential
 * header is never sent by a browser on its own, so those requests need neither.
 */
export function adminGuard (app: FastifyInstance) {
  const chain = app.authentication.with([new AdminTokenAuthenticator(app.config.admin.apiTokenHash, app.throttle)])

  return async function guard (request: FastifyRequest): Promise<void> {
    const identity = await chain.authenticate(request)
    if (identity === null) {
      await dashboardSession(app, request)
      return
    }
    if (identity.method === 'admintoken') {
      request.adminActor = 'admin-api-token'
      return
    }
    if (!identity.roles.includes('administrator')) throw new Forbidden()
    request.adminActor = `user:${identity.userId}`
  }
}

/** The request's dashboard session (cookie), with the origin and CSRF checks of a change; throws when there is none. */
export async function dashboardSession (app: FastifyInstance, request: FastifyRequest): Promise<DashboardSession> {
  const id = app.dashboardSessions === null ? null : readSessionCookie(request)
  if (id === null) throw new TokenMissing()
  const unsafe = !SAFE.has(request.method)
  // Before the store is asked: a cross-origin request learns nothing, not even whether the session lives.
  assertSameOrigin(request, unsafe)
  const session = await app.dashboardSessions!.get(id)
  if (session === null) throw new DashboardSessionEnded()
  if (unsafe && !csrfMatches(session, request.headers['x-csrf-token'])) throw new CsrfTokenInvalid()
  request.dashboardSession = session
  request.adminActor = actorOf(session.principal)
  return session
}
