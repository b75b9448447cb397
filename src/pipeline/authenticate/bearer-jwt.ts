import type { FastifyRequest } from 'fastify'
import { TokenRevoked } from '../../errors.js'
import type { AccessClaims, AccessTokens } from '../../tokens/access-token.js'
import type { Revocations } from '../../tokens/revocation.js'
import type { Authenticator, Credentials } from './authenticator.js'
import type { Identity } from './identity.js'

/** The gateway's own access tokens, as `Bearer <jwt>` (RFC 6750 §2.1). */
export class BearerJwtAuthenticator implements Authenticator {
  readonly name = 'jwt'
  readonly #tokens: AccessTokens
  readonly #revocations: Revocations

  constructor (tokens: AccessTokens, revocations: Revocations) {
    this.#tokens = tokens
    this.#revocations = revocations
  }

  authenticate (_request: FastifyRequest, credentials: Credentials): Identity | null | Promise<Identity> {
    if (credentials.scheme !== 'bearer') return null
    const claims = this.#tokens.verify(credentials.value)
    // From the local view while it is synced: no Redis round trip (docs/architecture.md §6).
    const revoked = this.#revocations.isRevoked(claims)
    if (revoked === true) throw new TokenRevoked()
    if (revoked !== false) {
      return revoked.then((r) => {
        if (r) throw new TokenRevoked()
        return identityOf(claims)
      })
    }
    return identityOf(claims)
  }
}

function identityOf (claims: AccessClaims): Identity {
  return {
    userId: claims.sub,
    login: claims.login,
    email: claims.email,
    roles: claims.roles,
    via: 'jwt',
    tokenId: claims.jti,
    sessionId: claims.sid,
    expiresAt: claims.exp
  }
}
