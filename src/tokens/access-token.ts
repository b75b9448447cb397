import { randomBytes } from 'node:crypto'
import { SignJWT, type JWTPayload } from 'jose'
import { TokenInvalid } from '../errors.js'
import { verifyCompactJws, type JwsExpectations } from './jws-verify.js'
import type { Keyring } from './keys.js'
import type { WordPressUser } from '../bridge/client.js'

export const ACCESS_TOKEN_TYPE = 'at+jwt' // RFC 9068 §2.1
const VERIFIED_MAX = 10_000

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
  /** Tokens issued to an OAuth client (RFC 9068 §2.2): its id, and the granted scopes, space-separated. */
  client_id?: string
  scope?: string
}

/** What a token is issued for, beyond its user: a client and its scopes (OAuth grants). */
export interface Grant { clientId?: string, scopes?: readonly string[] }

export interface TokenSettings {
  issuer: string
  audience: string
  ttlSeconds: number
  clockToleranceSeconds: number
}

export class AccessTokens {
  readonly #keys: Keyring
  readonly #settings: TokenSettings
  readonly #expect: JwsExpectations
  readonly #verified = new Map<string, AccessClaims>()

  constructor (keys: Keyring, settings: TokenSettings) {
    this.#keys = keys
    this.#settings = settings
    this.#expect = { typ: ACCESS_TOKEN_TYPE, issuer: settings.issuer, audience: settings.audience, clockToleranceSeconds: settings.clockToleranceSeconds }
  }

  get ttlSeconds (): number { return this.#settings.ttlSeconds }

  async issue (user: WordPressUser, sid: string, grant: Grant = {}, now = Math.floor(Date.now() / 1000)): Promise<{ token: string, claims: AccessClaims }> {
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
      roles: user.roles,
      ...(grant.clientId === undefined ? {} : { client_id: grant.clientId }),
      ...(grant.scopes === undefined ? {} : { scope: grant.scopes.join(' ') })
    }
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: signer.alg, typ: ACCESS_TOKEN_TYPE, kid: signer.kid })
      .sign(signer.signWith)
    return { token, claims }
  }

  /**
   * Whether a bearer token is one of this gateway's (its header names one of
   * its keys), without verifying it: the jwt method's "responsible" answer.
   */
  isOwn (token: string): boolean {
    if (this.#verified.has(token)) return true
    const dot = token.indexOf('.')
    if (dot <= 0 || dot > 1024) return false
    try {
      const header: unknown = JSON.parse(Buffer.from(token.slice(0, dot), 'base64url').toString('utf8'))
      const kid = (header as { kid?: unknown } | null)?.kid
      return typeof kid === 'string' && this.#keys.verifiers.has(kid)
    } catch {
      return false
    }
  }

  /**
   * Verifies signature, algorithm, type and every time claim; throws a
   * GW_ERR_TOKEN_* error. A token once verified is remembered (clients send
   * the same one many times), so later uses only check the clock.
   */
  verify (token: string): AccessClaims {
    const known = this.#verified.get(token)
    if (known !== undefined) {
      if (known.exp > Date.now() / 1000 - this.#settings.clockToleranceSeconds) return known
      this.#verified.delete(token)
    }
    const claims = this.#check(token)
    if (this.#verified.size >= VERIFIED_MAX) this.#verified.clear()
    this.#verified.set(token, claims)
    return claims
  }

  #check (token: string): AccessClaims {
    const c = verifyCompactJws(token, this.#keys, this.#expect)
    const ok = typeof c.sub === 'string' && /^[1-9]\d{0,19}$/.test(c.sub) && typeof c.jti === 'string' && typeof c.sid === 'string' &&
      typeof c.login === 'string' && typeof c.email === 'string' && Array.isArray(c.roles) && c.roles.every((r) => typeof r === 'string') &&
      (c.client_id === undefined || typeof c.client_id === 'string') && (c.scope === undefined || typeof c.scope === 'string')
    if (!ok) throw new TokenInvalid()
    return c as AccessClaims
  }
}
