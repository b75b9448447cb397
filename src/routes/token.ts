import type { FastifyInstance, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import { Type, type Static } from '@sinclair/typebox'
import { RefreshTokenInvalid, TokenMissing } from '../errors.js'
import { checkPassword } from '../throttle/password.js'
import type { WordPressUser } from '../bridge/client.js'
import type { ClientInfo } from '../tokens/sessions.js'
import { tokenEndpoint } from '../oauth/token-endpoint.js'
import { tokenResponse as issuedPair } from '../tokens/token-response.js'

const TokenRequest = Type.Object({
  // A login or an email address: WordPress's wp_authenticate() accepts both.
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 4096 })
})
type TokenRequest = Static<typeof TokenRequest>

const RefreshRequest = Type.Object({
  refresh_token: Type.String({ minLength: 1, maxLength: 256 })
})
type RefreshRequest = Static<typeof RefreshRequest>

export const TOKEN_PATH = '/wp-json/api/v1/token'
export const REFRESH_PATH = '/wp-json/api/v1/token/refresh'
export const VALIDATE_PATH = '/wp-json/api/v1/token-validate'
const SMALL_BODY = 16 * 1024

export const clientInfo = (request: FastifyRequest): ClientInfo => ({ userAgent: request.headers['user-agent'] ?? '', ip: request.ip })

/** Token endpoints (README, "Endpoints"), answered by the gateway and never forwarded. */
export default async function tokenRoutes (app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: SMALL_BODY })

  const tokenResponse = async (user: WordPressUser, sid: string, refreshToken: string) => await issuedPair(app, user, sid, refreshToken)

  const oauthToken = tokenEndpoint(app)
  // attachValidation: a body with a grant_type is an OAuth request (clients of the miniOrange plugin), checked by the OAuth endpoint.
  app.post<{ Body: TokenRequest }>(TOKEN_PATH, { bodyLimit: SMALL_BODY, schema: { body: TokenRequest }, attachValidation: true }, async (request, reply) => {
    if (typeof request.body === 'object' && request.body !== null && 'grant_type' in request.body) return await oauthToken(request, reply)
    if (request.validationError !== undefined) throw request.validationError
    const user = await checkPassword(app, request.body.username, request.body.password, request.ip)
    const { sid, refreshToken } = await app.sessions.create(user.id, clientInfo(request))
    // RFC 6749 §5.1: token responses must not be cached.
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return await tokenResponse(user, sid, refreshToken)
  })

  app.post<{ Body: RefreshRequest }>(REFRESH_PATH, { bodyLimit: SMALL_BODY, schema: { body: RefreshRequest } }, async (request, reply) => {
    const { sid, uid, refreshToken } = await app.sessions.rotate(request.body.refresh_token, clientInfo(request))
    // Re-read the user: role changes and deletions take effect at the next refresh.
    const user = await app.bridge.getUser(uid)
    if (user === null) {
      await app.sessions.revoke(uid, sid)
      throw new RefreshTokenInvalid()
    }
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return await tokenResponse(user, sid, refreshToken)
  })

  app.get(VALIDATE_PATH, async (request, reply) => {
    const identity = await app.authentication.authenticate(request)
    if (identity === null) throw new TokenMissing()
    void reply.header('cache-control', 'no-store')
    return {
      valid: true,
      expires_at: identity.expiresAt,
      user: { id: Number(identity.userId), login: identity.login, email: identity.email, roles: identity.roles }
    }
  })
}
