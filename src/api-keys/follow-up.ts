import type { FastifyBaseLogger } from 'fastify'
import type { BridgeClient } from '../bridge/client.js'
import type { Revocations } from '../tokens/revocation.js'
import type { UserChange } from '../tokens/user-changes.js'
import type { ApiKeys } from './index.js'

/** How long a change's own follow-up has to re-read or delete the user's keys before the sweep deletes them. */
const GRACE_MS = 60_000

/**
 * What a change to a user does to their keys (src/tokens/user-changes.ts),
 * once the user's cut-off is written, which already refuses every key of
 * theirs verified before it.
 */
export class KeyFollowUp {
  readonly #keys: ApiKeys
  readonly #bridge: BridgeClient
  readonly #revocations: Revocations
  readonly #log: FastifyBaseLogger
  #timer: NodeJS.Timeout | undefined

  constructor (keys: ApiKeys, bridge: BridgeClient, revocations: Revocations, log: FastifyBaseLogger) {
    this.#keys = keys
    this.#bridge = bridge
    this.#revocations = revocations
    this.#log = log
  }

  start (): void {
    this.#timer = setInterval(() => { void this.sweep() }, GRACE_MS)
    this.#timer.unref()
  }

  stop (): void {
    clearInterval(this.#timer)
  }

  /**
   * A new password, a deletion or "log out everywhere" ends the user's keys:
   * whoever held the account may have made them. New roles and a logout keep
   * them, re-read so that they act with the user as WordPress now has them.
   */
  async changed (uid: number, change: UserChange): Promise<void> {
    const records = await this.#keys.recordsOf(uid)
    if (records.length === 0) return
    if (change === 'roles_changed' || change === 'logout') {
      const user = await this.#bridge.getUser(uid)
      if (user !== null) {
        const verifiedAt = Date.now()
        await Promise.all(records.map(async (r) => await this.#keys.catalog.update(r.id, { ...r, login: user.login, email: user.email, roles: user.roles, verifiedAt })))
        return
      }
    }
    await this.#keys.catalog.delete(records.map((r) => r.id))
  }

  /**
   * Deletes keys that their user's cut-off still refuses a minute after it:
   * the change's follow-up failed (WordPress or the store could not answer),
   * and whether it was a new password or new roles is no longer known. The
   * cut-off alone lapses with the sessions it ends (after the refresh token
   * lifetime) and would then let such a key back in; deleting it fails
   * closed. `now`: when to judge from (tests look a minute ahead).
   */
  async sweep (now = Date.now()): Promise<void> {
    if (!this.#keys.catalog.synced) return
    const stale = (await this.#keys.catalog.all()).filter((r) => {
      const uid = String(r.userId)
      return this.#revocations.isUserCutOff(uid, r.verifiedAt) === true && this.#revocations.isUserCutOff(uid, now - GRACE_MS) === false
    })
    if (stale.length === 0) return
    try {
      await this.#keys.catalog.delete(stale.map((r) => r.id))
      this.#log.warn({ keys: stale.map((r) => r.id) }, 'API keys whose user changed without a follow-up were deleted')
    } catch (err) {
      this.#log.warn({ err }, 'API keys cut off by a change to their user could not be deleted; will retry')
    }
  }
}
