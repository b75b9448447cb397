import type { FastifyBaseLogger } from 'fastify'
import type { EventType } from '../bridge/events.js'
import type { Sessions } from './sessions.js'

/** What happened to a user: the bridge's events, and an administrator's "log out everywhere". */
export type UserChange = EventType | 'revoked_by_admin'

/** Kept credentials (API keys, OAuth clients) are told of a change after the user's cut-off is written. */
export type UserChangeListener = (uid: number, change: UserChange) => Promise<void>

/**
 * The one place a change to a user takes effect (docs/architecture.md §5):
 * the user's sessions end and a cut-off (their not-before) is written, which
 * every replica applies at once to every credential issued or verified
 * before it; then the kinds of credential that outlive sessions act on it
 * (API keys are deleted or re-read, clients re-read their service user).
 */
export class UserChanges {
  readonly #sessions: Sessions
  readonly #log: FastifyBaseLogger
  readonly #listeners: UserChangeListener[] = []

  constructor (sessions: Sessions, log: FastifyBaseLogger) {
    this.#sessions = sessions
    this.#log = log
  }

  on (listener: UserChangeListener): void {
    this.#listeners.push(listener)
  }

  /** Returns how many sessions ended. Rejects (and the caller answers 503) when the store cannot take it. */
  async changed (uid: number, change: UserChange): Promise<number> {
    const ended = await this.#sessions.revokeUser(uid)
    const results = await Promise.allSettled(this.#listeners.map((fn) => fn(uid, change)))
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) {
      // The cut-off is written, so nothing issued before it is accepted; what failed is the follow-up.
      this.#log.warn({ err: failed.reason }, `user ${uid} (${change}): a credential store could not be updated`)
      throw failed.reason
    }
    return ended
  }
}
