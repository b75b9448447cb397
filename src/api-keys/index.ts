import type { FastifyBaseLogger } from 'fastify'
import type { WordPressUser } from '../bridge/client.js'
import { ApiKeyLimitReached, BadRequest } from '../errors.js'
import { Catalog } from '../store/catalog.js'
import type { Store } from '../store/index.js'
import { newKey, parseRecord, secretMatches, type ApiKeyRecord } from './key.js'
import { LastUse, type Use } from './last-use.js'

export { KEY_PREFIX, parseKey, type ApiKeyRecord } from './key.js'

/** Stands in for an unknown key's hash: no secret hashes to it (43 characters, as the real ones). */
const UNKNOWN = 'A'.repeat(43)

export interface ApiKeySettings {
  hashSecret: Buffer
  maxPerUser: number
  /** 0: no limit. */
  maxLifetimeSeconds: number
}

export interface NewApiKey {
  user: WordPressUser
  kind: ApiKeyRecord['kind']
  name: string
  scopes: readonly string[]
  expiresInSeconds: number | undefined
  /** Who made it, for the record: `user:<id>` or `admin-api-token`. */
  createdBy: string
}

export type ListedApiKey = ApiKeyRecord & { lastUse: Use | undefined }

/**
 * The API keys (README, "API keys"): a catalog every replica holds in memory
 * (src/store/catalog.ts), so that checking a key costs no round trip, with
 * an index of each user's keys beside it, so that a change to a user finds
 * their keys without a scan of the store (./follow-up.ts).
 */
export class ApiKeys {
  readonly catalog: Catalog<ApiKeyRecord>
  readonly lastUse: LastUse
  readonly #settings: ApiKeySettings
  readonly #byUser = new Map<number, Set<string>>()
  readonly #owner = new Map<string, number>()

  constructor (store: Store, settings: ApiKeySettings, log: FastifyBaseLogger) {
    this.catalog = new Catalog(store, 'apikeys', log, parseRecord)
    this.lastUse = new LastUse(this.catalog, log)
    this.#settings = settings
    this.catalog.onChange((id, record) => { this.#index(id, record) })
  }

  /**
   * Whether the secret is the record's. With no record (an unknown id) the
   * secret is hashed all the same, so an unknown id takes as long to refuse
   * as a wrong secret.
   */
  matches (record: ApiKeyRecord | undefined, secret: string): record is ApiKeyRecord {
    return secretMatches(this.#settings.hashSecret, record?.hash ?? UNKNOWN, secret) && record !== undefined
  }

  async start (): Promise<void> {
    await this.catalog.start()
    this.lastUse.start()
  }

  async stop (): Promise<void> {
    await this.lastUse.stop()
    await this.catalog.stop()
  }

  /**
   * A new secret for a key (`user` read from WordPress now): a new key with the
   * same owner, kind, name, scopes and expiry is made, then the old one is
   * deleted, so that a failure in between leaves one working key, never none.
   * Undefined when there is no such key.
   */
  async rotate (id: string, user: WordPressUser, createdBy: string): Promise<{ record: ApiKeyRecord, key: string } | undefined> {
    const old = await this.catalog.get(id)
    if (old === undefined || old.userId !== user.id) return undefined
    const left = old.expiresAt === null ? undefined : Math.max(1, Math.ceil((old.expiresAt - Date.now()) / 1000))
    const made = await this.create({ user, kind: old.kind, name: old.name, scopes: old.scopes, expiresInSeconds: left, createdBy }, true)
    await this.catalog.delete([id])
    return made
  }

  /** Makes a key; the returned `key` is the only time its secret exists outside the caller. `replacing`: one key takes another's place (no limit applies). */
  async create (opts: NewApiKey, replacing = false): Promise<{ record: ApiKeyRecord, key: string }> {
    const { maxPerUser, maxLifetimeSeconds } = this.#settings
    if (!replacing && maxLifetimeSeconds > 0 && opts.expiresInSeconds !== undefined && opts.expiresInSeconds > maxLifetimeSeconds) {
      throw new BadRequest(`expires_in may be at most ${maxLifetimeSeconds} seconds (auth.apiKeys.maxLifetimeSeconds).`)
    }
    // Live keys, counted from this replica's view: replicas creating at the same instant may each let one more through.
    const now = Date.now()
    const live = (await this.recordsOf(opts.user.id)).filter((r) => r.expiresAt === null || r.expiresAt > now)
    if (!replacing && live.length >= maxPerUser) throw new ApiKeyLimitReached(maxPerUser)
    const lifetime = opts.expiresInSeconds ?? (maxLifetimeSeconds > 0 ? maxLifetimeSeconds : undefined)
    const { id, key, hash } = newKey(this.#settings.hashSecret)
    const record: ApiKeyRecord = {
      id,
      hash,
      kind: opts.kind,
      name: opts.name,
      userId: opts.user.id,
      login: opts.user.login,
      email: opts.user.email,
      roles: opts.user.roles,
      scopes: [...opts.scopes],
      createdAt: now,
      expiresAt: lifetime === undefined ? null : now + lifetime * 1000,
      verifiedAt: now,
      createdBy: opts.createdBy
    }
    await this.catalog.put(id, record)
    return { record, key }
  }

  /** Every key, or one user's, with its last use. */
  async list (userId?: number): Promise<ListedApiKey[]> {
    const records = userId === undefined ? await this.catalog.all() : await this.recordsOf(userId)
    records.sort((a, b) => a.createdAt - b.createdAt)
    const uses = await this.lastUse.of(records.map((r) => r.id))
    return records.map((r) => ({ ...r, lastUse: uses.get(r.id) }))
  }

  /** Deletes a key; with `ownerId`, only one of that user's (another's answers as an unknown one: false). */
  async remove (id: string, ownerId?: number): Promise<boolean> {
    const record = await this.catalog.get(id)
    if (record === undefined || (ownerId !== undefined && record.userId !== ownerId)) return false
    return (await this.catalog.delete([id])).length > 0
  }

  /** One user's keys: from the per-user index while the view is synced, otherwise from the store. */
  async recordsOf (uid: number): Promise<ApiKeyRecord[]> {
    if (!this.catalog.synced) return (await this.catalog.all()).filter((r) => r.userId === uid)
    const records: ApiKeyRecord[] = []
    for (const id of this.#byUser.get(uid) ?? []) {
      const record = this.catalog.get(id)
      if (record !== undefined && !(record instanceof Promise)) records.push(record)
    }
    return records
  }

  #index (id: string, record: ApiKeyRecord | undefined): void {
    const before = this.#owner.get(id)
    if (before !== undefined) {
      const ids = this.#byUser.get(before)
      ids?.delete(id)
      if (ids?.size === 0) this.#byUser.delete(before)
      this.#owner.delete(id)
    }
    if (record === undefined) return
    this.#owner.set(id, record.userId)
    const ids = this.#byUser.get(record.userId) ?? new Set()
    ids.add(id)
    this.#byUser.set(record.userId, ids)
  }
}
