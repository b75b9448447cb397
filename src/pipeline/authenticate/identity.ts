import type { Via } from '../../bridge/assertion.js'

/** The ways of proving who one is, as `auth.methods` and a rule's `authenticators` name them. */
export const AUTH_METHODS = ['jwt', 'apikey', 'basic', 'cookie', 'oidc'] as const
export type AuthMethod = typeof AUTH_METHODS[number]

/** Who the caller proved to be; what the authorize and forward stages act on. */
export interface Identity {
  /** WordPress user ID. */
  userId: string
  login: string
  email: string
  roles: readonly string[]
  /** Scopes, for credentials that are narrowed to some (OAuth tokens and clients, API keys). */
  scopes?: readonly string[]
  /** The method that proved it (audit, rules' `authenticators`); `admintoken` only on admin routes. */
  method: AuthMethod | 'admintoken'
  /** What the assertion tells WordPress. */
  via: Via
  /** The access token's jti and session, when the caller used one. */
  tokenId?: string
  sessionId?: string
  /** The OAuth client, when a client (or a token issued to one) is the caller. */
  clientId?: string
  /** The API key's id, when the caller used one. */
  keyId?: string
  /** When the credential was issued or last verified (seconds since the epoch): a user's not-before applies to it. */
  issuedAt?: number
  /** When the credential stops being valid (seconds since the epoch). */
  expiresAt?: number
}
