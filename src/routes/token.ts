import type { FastifyInstance, FastifyRequest } from 'fastify'
import formbody from '@fastify/formbody'
import { Type, type Static } from '@sinclair/typebox'
import { RefreshTokenInvalid, TokenMissing } from '../errors.js'
import { checkPassword } from '../throttle/password.js'
import type { WordPressUser } from '../bridge/client.js'
import type { ClientInfo } from '../tokens/sessions.js'
import { tokenEndpoint } from '../oauth/token-endpoint.js'
import { OAuthError } from '../oauth/respond.js'
import { RestError } from '../errors.js'
import { errors, OAuthToken, Security, TokenPair } from './schemas.js'
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

const Validation = Type.Object({
  valid: Type.Literal(true),
  expires_at: Type.Optional(Type.Integer({ description: 'Unix time; absent for credentials without an end (Basic, a key without expiry)' })),
  user: Type.Object({ id: Type.Integer(), login: Type.String(), email: Type.String(), roles: Type.Array(Type.String()) }, { additionalProperties: false })
}, { additionalProperties: false, description: 'The credentials are valid; whose they are' })

// With a grant_type the login endpoint is the OAuth token endpoint, which answers in RFC 6749's shapes.
const either = (a: { $id?: string }, b: { $id?: string }, description: string) => Type.Union([Type.Ref(a.$id!), Type.Ref(b.$id!)], { description })
const LOGIN_SCHEMA = {
  tags: ['tokens'],
  summary: 'Log in: an access and a refresh token',
  description: 'A JSON or form body. With a grant_type it is the OAuth 2.0 token endpoint (POST /wp-json/api/v1/oauth/token) and answers as that does.',
  operationId: 'login',
  security: [Security.none],
  body: TokenRequest,
  response: {
    200: either(TokenPair, OAuthToken, 'The token pair (with grant_type: an OAuth token answer)'),
    400: either(RestError, OAuthError, 'Bad Request: a malformed body'),
    401: either(RestError, OAuthError, 'Unauthorized: GW_ERR_INVALID_CREDENTIALS, the same for unknown users'),
    429: either(RestError, OAuthError, 'Too Many Requests: GW_ERR_TOO_MANY_ATTEMPTS, with Retry-After'),
    '4xx': either(RestError, OAuthError, 'Any other client error'),
    '5xx': either(RestError, OAuthError, 'WordPress or Redis cannot answer')
  }
}

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
  app.post<{ Body: TokenRequest }>(TOKEN_PATH, { bodyLimit: SMALL_BODY, schema: LOGIN_SCHEMA, attachValidation: true }, async (request, reply) => {
    if (typeof request.body === 'object' && request.body !== null && 'grant_type' in request.body) return await oauthToken(request, reply)
    if (request.validationError !== undefined) throw request.validationError
    const user = await checkPassword(app, request.body.username, request.body.password, request.ip)
    const { sid, refreshToken } = await app.sessions.create(user.id, clientInfo(request))
    // RFC 6749 §5.1: token responses must not be cached.
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return await tokenResponse(user, sid, refreshToken)
  })

  app.post<{ Body: RefreshRequest }>(REFRESH_PATH, {
    bodyLimit: SMALL_BODY,
    schema: {
      tags: ['tokens'],
      summary: 'A new token pair for a refresh token',
      description: 'The refresh token is rotated: the one sent stops working, and sending it again ends its session.',
      operationId: 'refresh',
      security: [Security.none],
      body: RefreshRequest,
      response: { 200: Type.Ref(TokenPair.$id!, { description: 'A new token pair' }), ...errors({ 401: 'GW_ERR_REFRESH_TOKEN_INVALID or GW_ERR_REFRESH_TOKEN_REUSED' }) }
    }
  }, async (request, reply) => {
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

  app.get(VALIDATE_PATH, {
    schema: {
      tags: ['tokens'],
      summary: 'Who the credentials belong to',
      operationId: 'validate',
      security: [Security.jwt, Security.apiKey, Security.basic],
      response: { 200: Validation, ...errors({ 401: 'No credentials, or a token or key that is malformed, invalid, expired or revoked' }) }
    }
  }, async (request, reply) => {
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
