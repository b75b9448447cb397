import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { Type, type Static } from '@sinclair/typebox'
import { TokenMissing } from '../errors.js'

const TokenRequest = Type.Object({
  // A login or an email address: WordPress's wp_authenticate() accepts both.
  username: Type.String({ minLength: 1, maxLength: 256 }),
  password: Type.String({ minLength: 1, maxLength: 4096 })
})
type TokenRequest = Static<typeof TokenRequest>

export const TOKEN_PATH = '/wp-json/api/v1/token'
export const VALIDATE_PATH = '/wp-json/api/v1/token-validate'

/** Token endpoints (DESIGN §9), answered by the gateway and never forwarded. */
export default async function tokenRoutes (app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: 16 * 1024 })

  app.post<{ Body: TokenRequest }>(TOKEN_PATH, {
    bodyLimit: 16 * 1024,
    schema: { body: TokenRequest }
  }, async (request, reply) => {
    const user = await app.bridge.authenticate(request.body.username, request.body.password)
    const { token } = await app.accessTokens.issue(user)
    // RFC 6749 §5.1: token responses must not be cached.
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache')
    return {
      token_type: 'Bearer',
      access_token: token,
      expires_in: app.accessTokens.ttlSeconds,
      // The same token under the name clients of the miniOrange plugin read.
      jwt_token: token,
      user: { id: user.id, login: user.login, email: user.email, display_name: user.display_name, roles: user.roles }
    }
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
