import type { FastifyRequest } from 'fastify'
import { TokenRevoked } from '../../errors.js'
import { tokenError, type AccessClaims, type AccessTokens } from '../../tokens/access-token.js'
import type { Revocations } from '../../tokens/revocation.js'
import type { Authenticator } from './authenticator.js'
import type { RequestCredentials } from './credentials.js'
import type { Identity } from './identity.js'

/** The gateway's own access tokens, as `Bearer <jwt>` (RFC 6750 §2.1); responsible for tokens signed with its keys. */
export class BearerJwtAuthenticator implements Authenticator {
  readonly method = 'jwt' as const
  readonly #tokens: AccessTokens
  readonly #revocations: Revocations

  constructor (tokens: AccessTokens, revocations: Revocations) {
    this.#tokens = tokens
    this.#revocations = revocations
  }

  /** Refusals are returned, not thrown (AuthenticationChain throws them): see jws-verify.ts for why. */
  authenticate (_request: FastifyRequest, { header }: RequestCredentials): Identity | null | Error | Promise<Identity> {
    if (header?.scheme !== 'bearer' || !this.#tokens.isOwn(header.value)) return null
    const claims = this.#tokens.check(header.value)
    if (typeof claims === 'string') return tokenError(claims)
    // From the local view while it is synced: no Redis round trip (docs/architecture.md §6).
    const revoked = this.#revocations.isRevoked({ jti: claims.jti, sid: claims.sid, iat: claims.iat, uid: claims.sub, cid: claims.client_id })
    if (revoked === true) return new TokenRevoked()
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
    method: 'jwt',
    // DESIGN §3: WordPress is told a token issued to an OAuth client came by way of OAuth.
    via: claims.client_id === undefined ? 'jwt' : 'oauth',
    tokenId: claims.jti,
    sessionId: claims.sid,
    issuedAt: claims.iat,
    expiresAt: claims.exp,
    ...(claims.client_id === undefined ? {} : { clientId: claims.client_id }),
    ...(claims.scope === undefined ? {} : { scopes: claims.scope.split(' ').filter((s) => s !== '') })
  }
}
