import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { BadRequest, SessionNotFound } from '../errors.js'
import { adminGuard } from '../admin/guard.js'
import { revokeToken } from './revoke.js'
import adminClientRoutes from './admin-clients.js'
import adminRuleRoutes from './admin-rules.js'
import adminAuditRoutes from './admin-audit.js'
import type { SessionInfo } from '../tokens/sessions.js'
import { ADMIN, DateTime, NoContent } from './schemas.js'

const UserParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,18}$' }) })
type UserParams = Static<typeof UserParams>
// Any session id is accepted here: one that cannot exist is simply not found (404, as documented).
const SessionParams = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,18}$' }), sid: Type.String({ maxLength: 128 }) })
type SessionParams = Static<typeof SessionParams>
const RevokeTokenBody = Type.Object({
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 })),
  jti: Type.Optional(Type.String({ minLength: 1, maxLength: 128 }))
}, { additionalProperties: false })
type RevokeTokenBody = Static<typeof RevokeTokenBody>

const Session = Type.Object({
  id: Type.String(),
  user_id: Type.Integer(),
  created_at: DateTime,
  last_used_at: DateTime,
  expires_at: DateTime,
  user_agent: Type.String(),
  ip: Type.String(),
  client_id: Type.Optional(Type.String({ description: 'The OAuth client the session was begun through' }))
}, { additionalProperties: false })

const view = (s: SessionInfo) => ({
  id: s.sid,
  user_id: s.userId,
  created_at: new Date(s.createdAt).toISOString(),
  last_used_at: new Date(s.lastUsedAt).toISOString(),
  expires_at: new Date(s.expiresAt).toISOString(),
  user_agent: s.userAgent,
  ip: s.ip,
  ...(s.clientId === undefined ? {} : { client_id: s.clientId })
})

/** Operators' routes (README, "Admin routes"); every action is logged with who did it. */
export default async function adminRoutes (app: FastifyInstance): Promise<void> {
  app.decorateRequest('adminActor', null)
  app.addHook('preHandler', adminGuard(app))
  // Nothing an operator sees here belongs in a cache.
  app.addHook('onSend', async (_request, reply) => {
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store')
  })
  const audit = app.audit.action

  app.post<{ Body: RevokeTokenBody }>('/_gateway/admin/tokens/revoke', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Revoke one token, or one access token by jti',
      operationId: 'adminRevokeToken',
      security: ADMIN.security,
      body: RevokeTokenBody,
      response: { 200: Type.Object({ revoked: Type.Boolean({ description: 'false: the token is not the gateway\'s' }) }, { additionalProperties: false, description: 'Revoked' }), ...ADMIN.errors({ 400: 'Not exactly one of token and jti' }) }
    }
  }, async (request) => {
    const { token, jti } = request.body
    if ((token === undefined) === (jti === undefined)) throw new BadRequest('Send exactly one of token or jti.')
    if (jti !== undefined) {
      // A jti alone does not say when its token expires: keep the entry for the longest lifetime.
      const { accessTokenTtlSeconds, clockToleranceSeconds } = app.config.tokens
      await app.revocations.revoke([['jti', jti, Date.now() + (accessTokenTtlSeconds + clockToleranceSeconds) * 1000]])
      audit(request, 'token.revoke', `jti:${jti}`)
      return { revoked: true }
    }
    const revoked = await revokeToken(app, token!)
    audit(request, 'token.revoke', 'token', { revoked })
    return { revoked }
  })

  app.post<{ Params: UserParams }>('/_gateway/admin/users/:id/revoke', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Log a user out everywhere',
      operationId: 'adminRevokeUser',
      security: ADMIN.security,
      params: UserParams,
      response: { 200: Type.Object({ revoked_sessions: Type.Integer() }, { additionalProperties: false, description: 'How many sessions were ended' }), ...ADMIN.errors() }
    }
  }, async (request) => {
    const ended = await app.userChanges.changed(Number(request.params.id), 'revoked_by_admin')
    audit(request, 'user.revoke', `user:${request.params.id}`, { sessions: ended })
    return { revoked_sessions: ended }
  })

  app.get<{ Params: UserParams }>('/_gateway/admin/users/:id/sessions', {
    schema: {
      tags: ADMIN.tags,
      summary: 'A user\'s sessions',
      operationId: 'adminListSessions',
      security: ADMIN.security,
      params: UserParams,
      response: { 200: Type.Object({ sessions: Type.Array(Session) }, { additionalProperties: false, description: 'The user\'s sessions' }), ...ADMIN.errors() }
    }
  }, async (request) => {
    const sessions = await app.sessions.list(Number(request.params.id))
    audit(request, 'sessions.list', `user:${request.params.id}`)
    return { sessions: sessions.map(view) }
  })

  app.delete<{ Params: SessionParams }>('/_gateway/admin/users/:id/sessions/:sid', {
    schema: {
      tags: ADMIN.tags,
      summary: 'End one session',
      operationId: 'adminDeleteSession',
      security: ADMIN.security,
      params: SessionParams,
      response: { 204: NoContent, ...ADMIN.errors({ 404: 'GW_ERR_SESSION_NOT_FOUND' }) }
    }
  }, async (request, reply) => {
    const uid = Number(request.params.id)
    const exists = (await app.sessions.list(uid)).some((s) => s.sid === request.params.sid)
    if (!exists) throw new SessionNotFound()
    await app.sessions.revoke(uid, request.params.sid)
    audit(request, 'session.revoke', `user:${uid}/session:${request.params.sid}`)
    return reply.code(204).send()
  })

  // After the guard: the OAuth clients', the audit trail's and the rules' routes inherit it.
  await app.register(adminClientRoutes)
  await app.register(adminAuditRoutes)
  await app.register(adminRuleRoutes)
}
