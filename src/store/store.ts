// The one shared store (docs/architecture.md §7). Every operation the token
// machinery needs is one step here, atomic where it must be, so that the
// Redis and the in-process implementation can be held to one contract
// (test/store/contract.ts), and so that in a Redis Cluster each multi-key
// step touches one slot (src/store/keys.ts).

export type Unsubscribe = () => Promise<void>

/** The catalogs of records the store keeps, each announced on the `catalogs` channel when it changes. */
export type CatalogName = 'apikeys' | 'clients'
export const CATALOGS: readonly CatalogName[] = ['apikeys', 'clients']

/** The store's broadcast channels. */
export type Channel = 'revocations' | 'catalogs'

/** What spending a refresh token did. */
export type Rotation =
  /** The token was live and its session healthy: the new token now stands in its place. */
  | 'rotated'
  /** Unknown, expired, or its session is over. */
  | 'invalid'
  /** Spent before: its session has now been ended, for good. */
  | 'reused'

/** Which audit entries to read: ids are `<ms>-<seq>`; times are ms, inclusive. */
export interface AuditRange {
  /** Only entries older than this id (a cursor: the last one seen). */
  before?: string
  /** Only entries newer than this id. */
  after?: string
  /** From this time on. */
  from?: number
  /** Up to this time. */
  to?: number
}

export interface Store {
  readonly kind: 'redis' | 'memory'
  /** Resolves when the store answers and takes a write; rejects with StoreUnavailable otherwise. */
  ping (): Promise<void>

  /* Single keys, unrelated to each other. */
  get (key: string): Promise<string | null>
  /** ttlMs > 0: the key disappears after that many milliseconds. */
  set (key: string, value: string, ttlMs: number): Promise<void>
  /** Sets only when absent; true when this call created the key. */
  setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean>
  del (key: string): Promise<boolean>
  /** Increments a counter, starting its TTL on creation; returns the new value. */
  incr (key: string, ttlMs: number): Promise<number>

  /* Sessions and refresh tokens: everything of one user in one place. */
  /** Records a new session and its first refresh token (by hash); drops the user's expired sessions. */
  createSession (uid: number, sid: string, info: string, refreshHash: string, ttlMs: number): Promise<void>
  /**
   * Spends a refresh token and puts the next in its place, in one atomic
   * step: of any number of concurrent callers with the same token exactly one
   * gets 'rotated' while the session is healthy; a token spent before ends its
   * session for good ('reused'), and no token of an ended session rotates again.
   */
  rotateRefresh (uid: number, sid: string, oldHash: string, newHash: string, info: string, ttlMs: number): Promise<Rotation>
  /** The session a refresh token belongs to (spent or not), or null. */
  findRefresh (uid: number, refreshHash: string): Promise<string | null>
  /** The same, and whether the token was spent already (introspection must not call a spent token active). */
  refreshState (uid: number, refreshHash: string): Promise<{ sid: string, spent: boolean } | null>
  /** Ends one session; true when it existed. */
  endSession (uid: number, sid: string): Promise<boolean>
  /** Ends every session of a user; returns their ids. */
  endSessions (uid: number): Promise<string[]>
  /** The user's live sessions (sid → info); expired ones are dropped on the way. */
  sessions (uid: number, now: number): Promise<Record<string, string>>

  /* Revocations: one list, broadcast on change. */
  /**
   * Adds entries (field → value) to the revocation list and announces them to
   * every subscriber, in one atomic step: stored and broadcast, or neither.
   * Resolves once the write is where a failover keeps it (replicas acknowledged).
   */
  revoke (entries: ReadonlyArray<readonly [string, string]>): Promise<void>
  /** The whole revocation list. */
  revocations (): Promise<Record<string, string>>
  /** Some fields of it (while a replica cannot trust its own copy). */
  revocationsOf (fields: readonly string[]): Promise<Array<string | null>>
  /** Drops entries that have lapsed. */
  pruneRevocations (fields: readonly string[]): Promise<void>
  /**
   * Announcements on a channel: revocations as `field|value` lines, catalog
   * changes as `catalog\nid\nrecord` (an empty record: deleted).
   * `onState(false)` when delivery may have been interrupted, `onState(true)`
   * once resubscribed (the caller then reloads what it keeps).
   */
  subscribe (onMessage: (message: string) => void, onState?: (up: boolean) => void, channel?: Channel): Promise<Unsubscribe>

  /* Catalogs: small sets of records (API keys, OAuth clients) every replica keeps in memory. */
  /**
   * Stores or replaces a record and announces it, in one step; acknowledged
   * once a failover keeps it. `onlyIfPresent`: an update, which must not bring
   * back a record deleted meanwhile; false when there was none.
   */
  putRecord (catalog: CatalogName, id: string, record: string, onlyIfPresent?: boolean): Promise<boolean>
  /** Removes records and announces each removal; acknowledged like putRecord. Returns the ids that existed. */
  deleteRecords (catalog: CatalogName, ids: readonly string[]): Promise<string[]>
  /** Every record of a catalog (id → record). */
  records (catalog: CatalogName): Promise<Record<string, string>>
  /** Some records (while a replica cannot trust its own copy). */
  recordsOf (catalog: CatalogName, ids: readonly string[]): Promise<Array<string | null>>
  /** Notes kept beside records and never announced (when a key was last used): written behind, in batches. */
  setNotes (catalog: CatalogName, notes: ReadonlyArray<readonly [string, string]>): Promise<void>
  notes (catalog: CatalogName, ids: readonly string[]): Promise<Array<string | null>>

  /* The audit stream: decisions and actions, newest last, bounded in length and age. */
  /**
   * Appends entries, each stamped with an id `<ms>-<seq>` of the store's
   * clock, and trims the stream to about `maxEntries` and to ids no older
   * than `minTime` (ms): approximately, as Redis's `MAXLEN ~` does. The
   * entries come as lines (UTF-8, each ended by a newline; JSON, which holds
   * none inside), as the audit writer batches them (src/audit/stream.ts).
   */
  appendAudit (lines: Buffer, maxEntries: number, minTime: number): Promise<void>
  /** Up to `count` entries, newest first, within the bounds (see AuditRange). */
  readAudit (range: AuditRange, count: number): Promise<Array<[id: string, entry: string]>>

  /** Called whenever the store's main connection is back after a loss (a restart, a failover). */
  onReconnect (listener: () => void): void

  /**
   * The store's generation: created once (id and the time it began) and kept
   * as long as the store keeps its data. A store that comes back without it
   * has lost what it held.
   */
  generation (candidateId: string, now: number): Promise<{ id: string, since: number }>

  close (): Promise<void>
}
