import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
// `schema.hide`, which keeps the page and its files out of the OpenAPI document.
import type {} from '@fastify/swagger'
import { AdminTokenAuthenticator } from '../admin/admin-token.js'
import { dashboardSession } from '../admin/guard.js'
import { assertSameOrigin, clearSessionCookie, readSessionCookie, setSessionCookie } from '../dashboard/cookie.js'
import { dashboardAssets } from '../dashboard/assets.js'
import { tokenTag, type DashboardPrincipal, type DashboardSession } from '../dashboard/sessions.js'
import { BadRequest, Forbidden, RouteNotFound } from '../errors.js'
import { checkPassword } from '../throttle/password.js'
import { DateTime, errors, NoContent, Security } from './schemas.js'

export const DASHBOARD_PATH = '/_gateway/dashboard'

// No inline script or style anywhere: the page is static files of the gateway's own.
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin'
}

const Login = Type.Object({
  // A WordPress login or email with its password, or the admin API token.
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
  admin_token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 }))
}, { additionalProperties: false })
type Login = Static<typeof Login>

const SessionView = Type.Object({
  actor: Type.String(),
  user: Type.Union([Type.Object({ id: Type.Integer(), login: Type.String() }, { additionalProperties: false }), Type.Null()]),
  csrf_token: Type.String({ description: 'Send it as X-CSRF-Token with every change made with this session.' }),
  idle_seconds: Type.Integer(),
  created_at: DateTime
}, { additionalProperties: false })
const TAGS = ['dashboard']

const view = (app: FastifyInstance, session: DashboardSession) => ({
  actor: session.principal.kind === 'user' ? `user:${session.principal.userId}` : 'admin-api-token',
  user: session.principal.kind === 'user' ? { id: session.principal.userId, login: session.principal.login } : null,
  csrf_token: session.csrf,
  idle_seconds: app.dashboardSessions!.idleSeconds,
  created_at: new Date(session.createdAt).toISOString()
})

/**
 * The administrators' dashboard (README, "Dashboard"): static files, and
 * the cookie session they run on. Every answer here carries a strict
 * Content-Security-Policy and is never cached.
 */
export default async function dashboardRoutes (app: FastifyInstance): Promise<void> {
  const sessions = app.dashboardSessions
  if (sessions === null) return
  const assets = await dashboardAssets()
  const adminToken = new AdminTokenAuthenticator(app.config.admin.apiTokenHash, app.throttle)
  // Logins and logouts are admin actions in the audit trail, under the dashboard's actor.
  const log = (request: FastifyRequest, action: string, actor: string) => { app.audit.action(request, action, 'dashboard', {}, actor) }

  app.decorateRequest('adminActor', null)
  app.addHook('onSend', async (_request, reply) => {
    void reply.headers(SECURITY_HEADERS)
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
  })

  app.post<{ Body: Login }>(`${DASHBOARD_PATH}/login`, {
    bodyLimit: 8 * 1024,
    schema: {
      tags: TAGS,
      summary: 'Log in to the dashboard: a WordPress administrator\'s login, or the admin API token, for a session cookie',
      operationId: 'dashboardLogin',
      security: [Security.none],
      body: Login,
      response: { 200: SessionView, ...errors({ 401: 'GW_ERR_INVALID_CREDENTIALS', 403: 'GW_ERR_FORBIDDEN (not an administrator, or a wrong admin API token) or GW_ERR_ORIGIN_REFUSED' }) }
    }
  }, async (request, reply) => {
    // Login CSRF: a page elsewhere must not log the browser in to a session of its choosing.
    assertSameOrigin(request)
    const principal = await authenticate(request, request.body)
    // A session id is never reused: whatever cookie came in, a new one goes out.
    const old = readSessionCookie(request)
    if (old !== null) await sessions.end(old)
    const { id, session } = await sessions.create(principal)
    // The cookie may live as long as the session could; the store ends it sooner when it is idle.
    setSessionCookie(request, reply, id, sessions.maxSeconds)
    log(request, 'dashboard.login', principal.kind === 'user' ? `dashboard:user:${principal.userId}` : 'dashboard:admin-api-token')
    return view(app, session)
  })

  async function authenticate (request: FastifyRequest, body: Login): Promise<DashboardPrincipal> {
    const { username, password, admin_token: token } = body
    if (token !== undefined) {
      if (username !== undefined || password !== undefined) throw new BadRequest('Send a username and password, or an admin_token.')
      // The admin token's own check: argon2id against admin.apiTokenHash, failures throttled per IP.
      const identity = await adminToken.authenticate(request, { header: { scheme: 'bearer', value: token } })
      if (identity === null) throw new Forbidden()
      return { kind: 'admintoken', tokenHash: tokenTag(app.config.admin.apiTokenHash) }
    }
    if (username === undefined || password === undefined) throw new BadRequest('Send a username and password, or an admin_token.')
    // The one throttled password check, as the token endpoint's.
    const user = await checkPassword(app, username, password, request.ip)
    if (!user.roles.includes('administrator')) throw new Forbidden()
    return { kind: 'user', userId: user.id, login: user.login }
  }

  app.get(`${DASHBOARD_PATH}/session`, {
    schema: {
      tags: TAGS,
      summary: 'The dashboard session of the cookie, with its CSRF token',
      operationId: 'dashboardSession',
      security: [Security.dashboardCookie],
      response: { 200: SessionView, ...errors({ 401: 'GW_ERR_TOKEN_MISSING (no cookie) or GW_ERR_DASHBOARD_SESSION_ENDED', 403: 'GW_ERR_ORIGIN_REFUSED' }) }
    }
  }, async (request) => {
    return view(app, await dashboardSession(app, request))
  })

  app.post(`${DASHBOARD_PATH}/logout`, {
    schema: {
      tags: TAGS,
      summary: 'End the dashboard session and clear its cookie',
      operationId: 'dashboardLogout',
      security: [Security.dashboardCookie],
      response: { 204: NoContent, ...errors({ 401: 'GW_ERR_DASHBOARD_SESSION_ENDED', 403: 'GW_ERR_CSRF_TOKEN_INVALID or GW_ERR_ORIGIN_REFUSED' }) }
    }
  }, async (request, reply) => {
    await dashboardSession(app, request)
    await sessions.end(readSessionCookie(request)!)
    clearSessionCookie(request, reply)
    log(request, 'dashboard.logout', request.adminActor!)
    return reply.code(204).send()
  })

  // The static app: the page, its module, its styles, and uPlot's, all from the gateway itself (no CDN).
  const send = (reply: FastifyReply, name: string) => {
    const asset = assets.get(name)!
    return reply.type(asset.type).header('cache-control', asset.type.startsWith('text/html') ? 'no-store' : 'no-cache').send(asset.body)
  }
  app.get(DASHBOARD_PATH, { schema: { hide: true } }, async (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`))
  app.get(`${DASHBOARD_PATH}/`, { schema: { hide: true } }, async (_request, reply) => send(reply, 'index.html'))
  for (const name of assets.keys()) {
    if (name === 'index.html') continue
    app.get(`${DASHBOARD_PATH}/${name}`, { schema: { hide: true } }, async (_request, reply) => send(reply, name))
  }
  // Any other name under the dashboard is the gateway's 404, with the same headers.
  app.get(`${DASHBOARD_PATH}/*`, { schema: { hide: true } }, async () => { throw new RouteNotFound() })
}
