import { createHmac, timingSafeEqual, verify as verifySignature } from 'node:crypto'
import type { Keyring, SigningKey } from './keys.js'

// Verification of the gateway's own access tokens, on every request: compact
// JWS (RFC 7515) with node:crypto directly, synchronously. A general JOSE
// library imports the key into WebCrypto and awaits on each call; here there
// is one token shape, one key lookup by kid, and no allocation beyond the
// decoded parts. The checks are those of RFC 8725 §3 (BCP 225): the
// algorithm is the key's own, `none` never is, `crit` is refused, the type
// is explicit.
//
// A refusal is returned, not thrown. V8 counts a function's calls towards
// optimising it (and towards even giving it inline caches) only when it
// returns: a function that always leaves by a throw stays in the
// interpreter without feedback. Under a flood of bad tokens every call here
// failed, so the whole check ran that way, several times slower than a
// valid token's (bench/analysis.md, "Refusals (issue 15 §2)"). The caller
// turns the reason into its GW_ERR_* error, once.

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_TOKEN_LENGTH = 8192

export interface JwsExpectations {
  typ: string
  issuer: string
  audience: string
  clockToleranceSeconds: number
}

/**
 * Why a token was refused: `malformed` (not a compact JWS of JSON parts),
 * `invalid` (wrong key, algorithm, type, signature or claims), `expired`,
 * and `early` (not valid yet: `nbf` in the future; answered as invalid, but
 * the only refusal that time can undo).
 */
export type JwsFailure = 'malformed' | 'invalid' | 'expired' | 'early'

/** What a token's header (its first part, base64url) allows: the key to verify it with, or why it is refused. */
export type HeaderVerdict = SigningKey | 'malformed' | 'invalid'

/** The verdict on a decoded header (undefined: not a JSON object). */
export function headerVerdict (header: Record<string, unknown> | undefined, keys: Keyring, expect: JwsExpectations): HeaderVerdict {
  if (header === undefined) return 'malformed'
  const key = typeof header.kid === 'string' ? keys.verifiers.get(header.kid) : undefined
  if (key === undefined || header.alg !== key.alg || 'crit' in header) return 'invalid'
  if (header.typ !== expect.typ && header.typ !== `application/${expect.typ}`) return 'invalid'
  return key
}

/**
 * The claims of a token that passes every check, or why it does not.
 * `verdictOf` may remember headers' verdicts (every token signed with one
 * key has the same header); by default each is read anew.
 */
export function checkCompactJws (token: string, keys: Keyring, expect: JwsExpectations, now = Date.now() / 1000,
  verdictOf: (part: string) => HeaderVerdict = (part) => headerVerdict(decodeJson(part), keys, expect)): Record<string, unknown> | JwsFailure {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return 'malformed'
  const dot1 = token.indexOf('.')
  const dot2 = token.indexOf('.', dot1 + 1)
  const key = verdictOf(token.slice(0, dot1))
  if (typeof key === 'string') return key

  const signed = token.slice(0, dot2)
  const encoded = token.slice(dot2 + 1)
  const signature = Buffer.from(encoded, 'base64url')
  // Only the canonical encoding: a second spelling of the same bytes is not the same token.
  if (signature.toString('base64url') !== encoded) return 'invalid'
  const ok = key.alg === 'HS256'
    ? hmacEquals(createHmac('sha256', key.verifyWith).update(signed).digest(), signature)
    : verifySignature('sha256', Buffer.from(signed), key.verifyWith, signature)
  if (!ok) return 'invalid'

  const claims = decodeJson(token.slice(dot1 + 1, dot2))
  if (claims === undefined) return 'malformed'
  const { exp, nbf, iat, iss, aud } = claims
  if (typeof exp !== 'number' || typeof nbf !== 'number' || typeof iat !== 'number') return 'invalid'
  if (exp <= now - expect.clockToleranceSeconds) return 'expired'
  if (nbf > now + expect.clockToleranceSeconds) return 'early'
  if (iss !== expect.issuer) return 'invalid'
  if (aud !== expect.audience && !(Array.isArray(aud) && aud.includes(expect.audience))) return 'invalid'
  return claims
}

function hmacEquals (expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given)
}

function decodeJson (part: string): Record<string, unknown> | undefined {
  return parseJsonObject(Buffer.from(part, 'base64url').toString('utf8'))
}

/**
 * JSON.parse of what should be an object, without a SyntaxError (and its
 * stack trace) for what cannot be one: random bytes rarely start with `{`.
 */
export function parseJsonObject (text: string): Record<string, unknown> | undefined {
  if (text.trimStart().charCodeAt(0) !== 0x7b) return undefined // '{'
  try {
    const value: unknown = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
