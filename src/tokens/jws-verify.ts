import { createHmac, timingSafeEqual, verify as verifySignature } from 'node:crypto'
import { TokenExpired, TokenInvalid, TokenMalformed } from '../errors.js'
import type { Keyring } from './keys.js'

// Verification of the gateway's own access tokens, on every request: compact
// JWS (RFC 7515) with node:crypto directly, synchronously. A general JOSE
// library imports the key into WebCrypto and awaits on each call; here there
// is one token shape, one key lookup by kid, and no allocation beyond the
// decoded parts. The checks are those of RFC 8725 §3 (BCP 225): the
// algorithm is the key's own, `none` never is, `crit` is refused, the type
// is explicit.

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
const MAX_TOKEN_LENGTH = 8192

export interface JwsExpectations {
  typ: string
  issuer: string
  audience: string
  clockToleranceSeconds: number
}

export function verifyCompactJws (token: string, keys: Keyring, expect: JwsExpectations, now = Date.now() / 1000): Record<string, unknown> {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) throw new TokenMalformed()
  const dot1 = token.indexOf('.')
  const dot2 = token.indexOf('.', dot1 + 1)
  const header = decodeJson(token.slice(0, dot1))
  if (header === undefined) throw new TokenMalformed()
  const key = typeof header.kid === 'string' ? keys.verifiers.get(header.kid) : undefined
  if (key === undefined || header.alg !== key.alg || 'crit' in header) throw new TokenInvalid()
  if (header.typ !== expect.typ && header.typ !== `application/${expect.typ}`) throw new TokenInvalid()

  const signed = token.slice(0, dot2)
  const signature = Buffer.from(token.slice(dot2 + 1), 'base64url')
  // Only the canonical encoding: a second spelling of the same bytes is not the same token.
  if (signature.toString('base64url') !== token.slice(dot2 + 1)) throw new TokenInvalid()
  const ok = key.alg === 'HS256'
    ? hmacEquals(createHmac('sha256', key.verifyWith).update(signed).digest(), signature)
    : verifySignature('sha256', Buffer.from(signed), key.verifyWith, signature)
  if (!ok) throw new TokenInvalid()

  const claims = decodeJson(token.slice(dot1 + 1, dot2))
  if (claims === undefined) throw new TokenMalformed()
  const { exp, nbf, iat, iss, aud } = claims
  if (typeof exp !== 'number' || typeof nbf !== 'number' || typeof iat !== 'number') throw new TokenInvalid()
  if (exp <= now - expect.clockToleranceSeconds) throw new TokenExpired()
  if (nbf > now + expect.clockToleranceSeconds) throw new TokenInvalid()
  if (iss !== expect.issuer) throw new TokenInvalid()
  if (aud !== expect.audience && !(Array.isArray(aud) && aud.includes(expect.audience))) throw new TokenInvalid()
  return claims
}

function hmacEquals (expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given)
}

function decodeJson (part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}
