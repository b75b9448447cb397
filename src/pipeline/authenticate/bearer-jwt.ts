import type { FastifyRequest } from 'fastify'
import type { AccessTokens } from '../../tokens/access-token.js'
import type { Authenticator, Credentials } from './authenticator.js'
import type { Identity } from './identity.js'

/** The gateway's own access tokens, as `Bearer <jwt>` (RFC 6750 §2.1). */
export class BearerJwtAuthenticator implements Authenticator {
  readonly name = 'jwt'
  readonly #tokens: AccessTokens

  constructor (tokens: AccessTokens) {
    this.#tokens = tokens
  }

  async authenticate (_request: FastifyRequest, credentials: Credentials): Promise<Identity | null> {
    if (credentials.scheme !== 'bearer') return null
    const claims = await this.#tokens.verify(credentials.value)
    return {
      userId: claims.sub,
      login: claims.login,
      email: claims.email,
      roles: claims.roles,
      via: 'jwt',
      tokenId: claims.jti,
      expiresAt: claims.exp
    }
  }
}
