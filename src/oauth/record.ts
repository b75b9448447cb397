import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { WordPressUser } from '../bridge/client.js'

// An OAuth client as the catalog stores it (src/oauth/clients.ts), and as
// the admin API shows it.

export const CLIENT_ID_PREFIX = 'wpgc_'
export const CLIENT_ID = /^wpgc_[0-9a-f]{24}$/
export const GRANT_TYPES = ['password', 'client_credentials', 'refresh_token'] as const
export type GrantType = typeof GRANT_TYPES[number]

const Snapshot = Type.Object({ login: Type.String(), email: Type.String(), display_name: Type.String(), roles: Type.Array(Type.String()) })

export const ClientRecord = Type.Object({
  client_id: Type.String({ pattern: CLIENT_ID.source }),
  name: Type.String(),
  user_id: Type.Integer({ minimum: 1 }),
  /** The service user as last read from WordPress, and when (ms): a user's cut-off after it means read again. */
  user: Snapshot,
  verified_at: Type.Integer(),
  grant_types: Type.Array(Type.Union(GRANT_TYPES.map((g) => Type.Literal(g)))),
  scopes: Type.Array(Type.String()),
  created_at: Type.Integer(),
  secret_hash: Type.String(),
  /** During a rotation: the previous secret's hash, and when it stops working (ms). */
  previous: Type.Optional(Type.Object({ secret_hash: Type.String(), until: Type.Integer() }))
})
export type ClientRecord = Static<typeof ClientRecord>

export const snapshot = (u: WordPressUser) => ({ login: u.login, email: u.email, display_name: u.display_name, roles: [...u.roles] })

export function parse (raw: string): ClientRecord | undefined {
  try {
    const v: unknown = JSON.parse(raw)
    return Value.Check(ClientRecord, v) ? v : undefined
  } catch {
    return undefined
  }
}

/** The record as the admin API shows it: never a secret or its hash. */
export function publicView (c: ClientRecord) {
  return {
    client_id: c.client_id,
    name: c.name,
    user_id: c.user_id,
    grant_types: c.grant_types,
    scopes: c.scopes,
    created_at: new Date(c.created_at).toISOString(),
    ...(c.previous !== undefined && c.previous.until > Date.now() ? { previous_secret_expires_at: new Date(c.previous.until).toISOString() } : {})
  }
}
