import { randomBytes } from 'node:crypto'
import { SignJWT, type JWTPayload } from 'jose'
import { LRUCache } from 'lru-cache'
import { TokenExpired, TokenInvalid, TokenMalformed } from '../errors.js'
import { checkCompactJws, headerVerdict, parseJsonObject, type HeaderVerdict, type JwsExpectations, type JwsFailure } from './jws-verify.js'
import type { Keyring } from './keys.js'
import type { WordPressUser } from '../bridge/client.js'

export const ACCESS_TOKEN_TYPE = 'at+jwt' // RFC 9068 §2.1
const VERIFIED_MAX = 10_000
// Refused tokens remembered, by the whole token: a client or a flood that
// sends the same bad token again is refused with one look-up. Bounded in
// count and in characters (a token may be up to 8 KiB).
const FAILED_MAX = 4096
const FAILED_MAX_CHARS = 2_000_000
const HEADERS_MAX = 64

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
  readonly #headers = new Map<string, { own: boolean, verdict: HeaderVerdict }>()
  readonly #verdictOf = (part: string): HeaderVerdict => this.#header(part).verdict
  readonly #failed = new LRUCache<string, Exclude<JwsFailure, 'early'>>({ max: FAILED_MAX, maxSize: FAILED_MAX_CHARS, sizeCalculation: (_, token) => token.length })

  constructor (keys: Keyring, settings: TokenSettings) {
    this.#keys = keys
    this.#settings = settings
    this.#expect = { typ: ACCESS_TOKEN_TYPE, issuer: settings.issuer, audience: settings.audience, clockToleranceSeconds: settings.clockToleranceSeconds }
  }

  get ttlSeconds (): number { return this.#settings.ttlSeconds }

  /** How many verdicts are remembered: tokens verified, tokens refused (both bounded). */
  get remembered (): { verified: number, refused: number } {
    return { verified: this.#verified.size, refused: this.#failed.size }
  }

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
    return this.#header(token.slice(0, dot)).own
  }

  /**
   * What a header says: whether it names one of our keys (isOwn), and the key
   * to verify with or why not. Every token signed with a key has the same
   * header, so the answers of a few are remembered.
   */
  #header (part: string): { own: boolean, verdict: HeaderVerdict } {
    let known = this.#headers.get(part)
    if (known === undefined) {
      const header = parseJsonObject(Buffer.from(part, 'base64url').toString('utf8'))
      const kid = header?.kid
      known = { own: typeof kid === 'string' && this.#keys.verifiers.has(kid), verdict: headerVerdict(header, this.#keys, this.#expect) }
      if (this.#headers.size >= HEADERS_MAX) this.#headers.clear()
      // Headers of up to 1 KiB only (isOwn's limit): the few real ones are short.
      if (part.length <= 1024) this.#headers.set(part, known)
    }
    return known
  }

  /**
   * Verifies signature, algorithm, type and every time claim; throws a
   * GW_ERR_TOKEN_* error (see `check` for one that returns the refusal).
   */
  verify (token: string): AccessClaims {
    const claims = this.check(token)
    if (typeof claims === 'string') throw tokenError(claims)
    return claims
  }

  /**
   * The claims of a valid token, or why it is refused, without throwing
   * (the refusal path of every request; jws-verify.ts says why). A token once
   * verified is remembered (clients send the same one many times), so later
   * uses only check the clock. A token once refused is remembered too, unless
   * time could still make it valid (`nbf` in the future): its signature,
   * shape and claims never change, and an expired token stays expired.
   */
  check (token: string): AccessClaims | JwsFailure {
    const known = this.#verified.get(token)
    if (known !== undefined) {
      if (known.exp > Date.now() / 1000 - this.#settings.clockToleranceSeconds) return known
      this.#verified.delete(token)
      this.#failed.set(token, 'expired')
      return 'expired'
    }
    const failed = this.#failed.get(token)
    if (failed !== undefined) return failed
    const claims = this.#check(token)
    if (typeof claims === 'string') {
      if (claims !== 'early') this.#failed.set(token, claims)
      return claims
    }
    if (this.#verified.size >= VERIFIED_MAX) this.#verified.clear()
    this.#verified.set(token, claims)
    return claims
  }

  #check (token: string): AccessClaims | JwsFailure {
    const c = checkCompactJws(token, this.#keys, this.#expect, Date.now() / 1000, this.#verdictOf)
    if (typeof c === 'string') return c
    const ok = typeof c.sub === 'string' && /^[1-9]\d{0,19}$/.test(c.sub) && typeof c.jti === 'string' && typeof c.sid === 'string' &&
      typeof c.login === 'string' && typeof c.email === 'string' && Array.isArray(c.roles) && c.roles.every((r) => typeof r === 'string') &&
      (c.client_id === undefined || typeof c.client_id === 'string') && (c.scope === undefined || typeof c.scope === 'string')
    return ok ? c as AccessClaims : 'invalid'
  }
}

/** The client error for a refused token: `early` (not valid yet) is answered as invalid. */
export function tokenError (failure: JwsFailure): Error {
  switch (failure) {
    case 'malformed': return new TokenMalformed()
    case 'expired': return new TokenExpired()
    default: return new TokenInvalid()
  }
}
