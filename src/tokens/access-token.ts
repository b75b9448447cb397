import { randomBytes } from 'node:crypto'
import { SignJWT, jwtVerify, errors as joseErrors, type JWTPayload, type JWSHeaderParameters } from 'jose'
import { TokenExpired, TokenInvalid, TokenMalformed } from '../errors.js'
import { acceptedAlgorithms, type Algorithm, type Keyring } from './keys.js'
import type { WordPressUser } from '../bridge/client.js'

export const ACCESS_TOKEN_TYPE = 'at+jwt' // RFC 9068 §2.1

export interface AccessClaims extends JWTPayload {
  sub: string
  jti: string
  /** The session (refresh-token family) the token belongs to. */
  sid: string
  exp: number
  iat: number
  login: string
  email: string
  roles: string[]
}

export interface TokenSettings {
  issuer: string
  audience: string
  ttlSeconds: number
  clockToleranceSeconds: number
}

// Compact JWS is three base64url parts; anything else is refused before any
// crypto runs, and a length cap keeps hostile giant tokens cheap to reject.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_TOKEN_LENGTH = 8192

export class AccessTokens {
  readonly #keys: Keyring
  readonly #settings: TokenSettings
  readonly #algorithms: Algorithm[]

  constructor (keys: Keyring, settings: TokenSettings) {
    this.#keys = keys
    this.#settings = settings
    this.#algorithms = acceptedAlgorithms(keys)
  }

  get ttlSeconds (): number { return this.#settings.ttlSeconds }

  async issue (user: WordPressUser, sid: string, now = Math.floor(Date.now() / 1000)): Promise<{ token: string, claims: AccessClaims }> {
    const { signer } = this.#keys
    const claims: AccessClaims = {
      iss: this.#settings.issuer,
      aud: this.#settings.audience,
      sub: String(user.id),
      iat: now,
      nbf: now,
      exp: now + this.#settings.ttlSeconds,
      jti: randomBytes(16).toString('base64url'),
      sid,
      login: user.login,
      email: user.email,
      roles: user.roles
    }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: signer.alg, typ: ACCESS_TOKEN_TYPE, kid: signer.kid })
      .sign(signer.signWith)
    return { token, claims }
  }

  /** Verifies signature, algorithm, type and every time claim; throws a GW_ERR_TOKEN_* error. */
  async verify (token: string): Promise<AccessClaims> {
    if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw new TokenMalformed()
    try {
      const { payload } = await jwtVerify<AccessClaims>(token, this.#keyFor, {
        // Only the algorithms of our own keys, and each kid only with its own
        // key's algorithm (#keyFor): rejects `alg: none` and RS256/HS256 confusion.
        algorithms: this.#algorithms,
        issuer: this.#settings.issuer,
        audience: this.#settings.audience,
        typ: ACCESS_TOKEN_TYPE,
        clockTolerance: this.#settings.clockToleranceSeconds,
        requiredClaims: ['sub', 'jti', 'sid', 'exp', 'iat', 'nbf']
      })
      if (!/^[1-9]\d{0,19}$/.test(payload.sub) || typeof payload.sid !== 'string' || !Array.isArray(payload.roles)) throw new TokenInvalid()
      return payload
    } catch (err) {
      throw mapError(err)
    }
  }

  readonly #keyFor = (header: JWSHeaderParameters) => {
    const key = header.kid === undefined ? undefined : this.#keys.verifiers.get(header.kid)
    if (key === undefined || key.alg !== header.alg) throw new TokenInvalid()
    return key.verifyWith
  }
}

function mapError (err: unknown): Error {
  if (err instanceof joseErrors.JWTExpired) return new TokenExpired()
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return new TokenMalformed()
  if (err instanceof TokenInvalid || err instanceof TokenMalformed) return err as Error
  return new TokenInvalid()
}
