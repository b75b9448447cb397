import { OAuthInvalidScope } from '../errors.js'

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces.
export const SCOPE_TOKEN = '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,64}$'
const TOKEN = new RegExp(SCOPE_TOKEN)

/** The scopes a request names; undefined when it names none. */
export function parseScope (raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined
  const parts = raw.split(' ')
  if (parts.length > 50 || !parts.every((p) => TOKEN.test(p))) throw new OAuthInvalidScope('The scope is malformed.')
  return [...new Set(parts)]
}

/** What a grant gives: the requested scopes, each within `allowed`; none requested: all of `allowed`. */
export function grantScopes (allowed: readonly string[], raw: string | undefined): string[] {
  const requested = parseScope(raw)
  if (requested === undefined) return [...allowed]
  if (!requested.every((s) => allowed.includes(s))) throw new OAuthInvalidScope('The requested scope exceeds what was granted to the client.')
  return requested
}
