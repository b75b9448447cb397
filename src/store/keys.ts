// The key layout (docs/architecture.md §7). Everything one atomic step
// touches shares a hash tag, so that in a Redis Cluster it lives in one slot
// and one Lua script may touch it: `{u:<uid>}` for a user's sessions and
// refresh tokens, `{rev}` for the revocation list and the generation marker, `{cat:<name>}`
// for a catalog (API keys, OAuth clients),
// `{audit}` for the audit stream.

export const keys = {
  sessions: (uid: number) => `{u:${uid}}:sessions`,
  refresh: (uid: number, hash: string) => `{u:${uid}}:rt:${hash}`,
  revocations: '{rev}:list',
  generation: '{rev}:generation',
  /** Readiness writes here: where revocations go, the write that must never fail silently. */
  readiness: '{rev}:ready',
  /** A catalog's records, and the notes beside them (last use), in one slot per catalog. */
  records: (catalog: string) => `{cat:${catalog}}:records`,
  notes: (catalog: string) => `{cat:${catalog}}:notes`,
  /** The audit stream: one key, one slot. */
  audit: '{audit}:stream'
} as const

/** A spent refresh token's record starts with this, so that its reuse is recognised. */
export const SPENT = 'used:'
