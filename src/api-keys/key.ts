import { randomBytes, timingSafeEqual } from 'node:crypto'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { keyedHash } from '../util/keyed-hash.js'

// What an API key is: `wpgk_<id>_<secret>`, and the record kept for it. The
// id is hex, so it holds no `_`; the secret is base64url and may hold `_`
// or `-`, so a key splits only at the first `_` after the id.

export const KEY_PREFIX = 'wpgk_'
const KEY = /^wpgk_([0-9a-f]{24})_([A-Za-z0-9_-]{43})$/
const HASH_PURPOSE = 'apikey'

/** A key's id and its secret, or null when the value is no well-formed key. */
export function parseKey (value: string): { id: string, secret: string } | null {
  const m = KEY.exec(value)
  return m === null ? null : { id: m[1]!, secret: m[2]! }
}

/** A new key: 96 random bits name it, 256 random bits prove it. */
export function newKey (hashSecret: Buffer): { id: string, key: string, hash: string } {
  const id = randomBytes(12).toString('hex')
  const secret = randomBytes(32).toString('base64url')
  return { id, key: `${KEY_PREFIX}${id}_${secret}`, hash: keyedHash(hashSecret, HASH_PURPOSE, secret) }
}

export function secretMatches (hashSecret: Buffer, storedHash: string, secret: string): boolean {
  const given = Buffer.from(keyedHash(hashSecret, HASH_PURPOSE, secret), 'base64url')
  const stored = Buffer.from(storedHash, 'base64url')
  return given.length === stored.length && timingSafeEqual(given, stored)
}

/**
 * A key as every replica keeps it. The user's login, email and roles are a
 * snapshot taken at `verifiedAt` (ms); a cut-off of the user after that time
 * (a password change, a deletion) refuses the key until it is re-read.
 * Fields a later version adds are let through: during a rolling upgrade,
 * older replicas must not refuse the keys newer ones write.
 */
export const ApiKeyRecord = Type.Object({
  id: Type.String({ pattern: '^[0-9a-f]{24}$' }),
  hash: Type.String({ minLength: 43, maxLength: 43 }),
  /** universal: made by an administrator for a chosen user; personal: made by a user for themself. */
  kind: Type.Union([Type.Literal('universal'), Type.Literal('personal')]),
  name: Type.String(),
  userId: Type.Integer({ minimum: 1 }),
  login: Type.String(),
  email: Type.String(),
  roles: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  createdAt: Type.Integer(),
  expiresAt: Type.Union([Type.Integer(), Type.Null()]),
  verifiedAt: Type.Integer(),
  createdBy: Type.String()
})
export type ApiKeyRecord = Static<typeof ApiKeyRecord>

/** A stored record, or undefined when it does not read as one (the catalog then treats it as absent). */
export function parseRecord (raw: string): ApiKeyRecord | undefined {
  let value: unknown
  try { value = JSON.parse(raw) } catch { return undefined }
  return Value.Check(ApiKeyRecord, value) ? value : undefined
}
