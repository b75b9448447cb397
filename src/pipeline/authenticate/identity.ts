import type { Via } from '../../bridge/assertion.js'

/** Who the caller proved to be; what the authorize and forward stages act on. */
export interface Identity {
  /** WordPress user ID. */
  userId: string
  login: string
  email: string
  roles: readonly string[]
  /** OAuth scopes, for credentials that carry them. */
  scopes?: readonly string[]
  via: Via
  /** The access token's jti and session, when the caller used one. */
  tokenId?: string
  sessionId?: string
  /** When the credential stops being valid (seconds since the epoch). */
  expiresAt?: number
}
