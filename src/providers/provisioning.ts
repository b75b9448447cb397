import { LRUCache } from 'lru-cache'
import type { BridgeClient, WordPressUser } from '../bridge/client.js'
import type { Revocations } from '../tokens/revocation.js'
import type { UserChanges } from '../tokens/user-changes.js'
import type { ProvisionPolicy, ProvisionRequest } from './provisioning-types.js'

export type { ProvisionPolicy, ProvisionRequest } from './provisioning-types.js'

interface Provisioned {
  user: WordPressUser
  /** The roles the token mapped when the bridge was asked, to see when a later token maps others. */
  asked: string
  /** When the bridge answered (ms): a cut-off of the user after it means WordPress must be asked again. */
  at: number
}

/**
 * WordPress users for people identity providers vouch for (issue 12 §3).
 * The bridge finds or makes the user (users/provision) once; the answer is
 * kept per (provider, subject), so later tokens of the same person cost no
 * bridge call. It is asked again when the user changed in WordPress since
 * (their cut-off, seen by every replica: a deletion, a role change, a logout
 * everywhere), when a token maps other roles and the provider updates them,
 * and after `cacheSeconds`. Concurrent first tokens of one person ask once.
 */
export class Provisioning {
  readonly #bridge: BridgeClient
  readonly #revocations: Revocations
  readonly #cache: LRUCache<string, Provisioned>
  readonly #pending = new Map<string, Promise<Provisioned>>()

  constructor (bridge: BridgeClient, revocations: Revocations, userChanges: UserChanges, cacheSeconds = 300) {
    this.#bridge = bridge
    this.#revocations = revocations
    this.#cache = new LRUCache({ max: 50_000, ttl: cacheSeconds * 1000 })
    userChanges.on(async (uid) => { this.forgetUser(uid) })
  }

  async resolve (request: ProvisionRequest, policy: ProvisionPolicy): Promise<WordPressUser> {
    const key = `${request.provider}\0${request.subject}`
    const asked = JSON.stringify(request.roles)
    const hit = this.#cache.get(key)
    if (hit !== undefined && (hit.asked === asked || !policy.updateRoles) &&
        !await this.#revocations.isUserCutOff(String(hit.user.id), hit.at)) return hit.user
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      pending = this.#ask(key, asked, request, policy).finally(() => this.#pending.delete(key))
      this.#pending.set(key, pending)
    }
    return (await pending).user
  }

  /** Drops what is kept of a user. */
  forgetUser (uid: number): void {
    for (const [key, entry] of this.#cache.entries()) if (entry.user.id === uid) this.#cache.delete(key)
  }

  async #ask (key: string, asked: string, request: ProvisionRequest, policy: ProvisionPolicy): Promise<Provisioned> {
    const at = Date.now()
    const entry = { user: await this.#bridge.provision(request, policy), asked, at }
    this.#cache.set(key, entry)
    return entry
  }
}
