import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { BadRequest, TokenMissing } from '../errors.js'
import { checkedInHandler, errors, Security } from './schemas.js'

const RevokeRequest = Type.Object({
  token: Type.Optional(Type.String({ maxLength: 8192 })),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 }))
})
type RevokeRequest = Static<typeof RevokeRequest>

export const REVOKE_PATH = '/wp-json/api/v1/token/revoke'

/**
 * Revocation (RFC 7009). Revoking an access or refresh token ends the session
 * it belongs to (§2.1: tokens of the same grant go too). Unknown or invalid
 * tokens still get 200 (§2.2), so the endpoint reveals nothing. Without a
 * `token` in the body, the caller's own Bearer token is revoked: logout.
 */
export default async function revokeRoutes (app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: 16 * 1024 })

  // The body is checked here, not by Fastify: a logout may come with no body
  // at all, which Fastify's validation would refuse.
  app.post(REVOKE_PATH, {
    bodyLimit: 16 * 1024,
    validatorCompiler: checkedInHandler,
    schema: {
      tags: ['tokens'],
      summary: 'Log out, or revoke a token (RFC 7009)',
      description: 'With `token` (an access or refresh token, JSON or form): its session ends; unknown tokens answer 200 too. Without: the caller\'s own session ends.',
      operationId: 'revoke',
      security: [Security.none, Security.jwt],
      body: RevokeRequest,
      response: { 200: Type.Object({}, { additionalProperties: false, description: 'Always {}' }), ...errors({ 401: 'No token in the body and no Bearer token' }) }
    }
  }, async (request, reply) => {
    if (request.body !== undefined && request.body !== null && !Value.Check(RevokeRequest, request.body)) throw new BadRequest('token must be a string')
    const token = (request.body as RevokeRequest | undefined | null)?.token
    if (token === undefined || token === '') {
      const identity = await app.authentication.authenticate(request)
      if (identity?.sessionId === undefined) throw new TokenMissing()
      await app.sessions.revoke(Number(identity.userId), identity.sessionId)
    } else {
      await revokeToken(app, token)
    }
    return reply.header('cache-control', 'no-store').send({})
  })
}

/** Ends the session of an access or refresh token; false when the token is not ours. */
export async function revokeToken (app: FastifyInstance, token: string): Promise<boolean> {
  const refresh = await app.sessions.lookup(token)
  if (refresh !== undefined) {
    await app.sessions.revoke(refresh.uid, refresh.sid)
    return true
  }
  let claims
  try {
    claims = app.accessTokens.verify(token)
  } catch {
    return false
  }
  // The token and its session, in one write.
  await app.sessions.revoke(Number(claims.sub), claims.sid, [['jti', claims.jti, claims.exp * 1000 + app.config.tokens.clockToleranceSeconds * 1000]])
  return true
}
