import { Cluster, Redis, type ClusterNode, type RedisOptions } from 'ioredis'
import calculateSlot from 'cluster-key-slot'
import { StoreUnavailable } from '../../errors.js'
import { SPENT, keys } from '../keys.js'
import type { AuditRange, CatalogName, Channel, Rotation, Store, Unsubscribe } from '../store.js'
import { streamBounds } from '../audit-ids.js'
import { scripts } from './scripts.js'
import { Subscriber } from './subscriber.js'
import { observeCommands, type StoreObserver } from './observe.js'
import type { Topology } from './topology.js'

export type { Topology } from './topology.js'
export type { StoreObserver } from './observe.js'

export interface RedisStoreOptions {
  topology: Topology
  /** Longest a command may take before the caller is told the store is unavailable. */
  commandTimeoutMs?: number
  keyPrefix?: string
  /** Replicas a revocation must reach before it is acknowledged: 'auto' is one where the master has any. */
  waitReplicas?: number | 'auto'
  waitTimeoutMs?: number
  /** Told of every connection error, with its name and text (for logs). */
  onError?: (err: Error) => void
}

type Client = Redis | Cluster
type Scripted = Client & {
  wpagCreateSession: (...args: string[]) => Promise<number>
  wpagRotate: (...args: string[]) => Promise<string>
  wpagSessions: (...args: string[]) => Promise<string[]>
  wpagEndSessions: (...args: string[]) => Promise<string[]>
  wpagRevoke: (...args: string[]) => Promise<number>
  wpagGeneration: (...args: string[]) => Promise<string>
  wpagIncr: (...args: string[]) => Promise<number>
  wpagAppendAudit: (...args: Array<string | Buffer>) => Promise<number>
  wpagPutRecord: (...args: string[]) => Promise<number>
  wpagDeleteRecords: (...args: string[]) => Promise<string[]>
}

/**
 * Redis through ioredis, standalone, Sentinel or Cluster (docs/architecture.md
 * §7). Commands are never queued while disconnected and each has a timeout,
 * so callers fail closed fast instead of hanging (503, never open). A node
 * that turns out to be a read-only replica after a failover makes the client
 * reconnect, and Sentinel and Cluster clients follow the new master.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const
  readonly #client: Scripted
  readonly #opts: RedisStoreOptions
  readonly #prefix: string
  readonly #subscribers = new Set<Subscriber>()
  readonly #reconnectListeners = new Set<() => void>()
  readonly #observers = new Set<StoreObserver>()
  #lastError: Error | undefined
  #replicas: { count: number, at: number } = { count: 0, at: 0 }

  constructor (opts: RedisStoreOptions) {
    this.#opts = opts
    this.#prefix = opts.keyPrefix ?? 'wpag:'
    this.#client = connection(opts.topology, this.#clientOptions()) as Scripted
    for (const [name, { numberOfKeys, lua }] of Object.entries(scripts)) this.#client.defineCommand(name, { numberOfKeys, lua })
    observeCommands(this.#client, this.#observers)
    // Connection errors surface through failed commands; the last one is kept
    // because it says why (ECONNREFUSED, NOAUTH...) where the command only says "closed".
    this.#client.on('error', (err: Error) => {
      this.#lastError = err
      opts.onError?.(err)
      for (const o of this.#observers) o.connectionError()
    })
    let connected = false
    this.#client.on('ready', () => {
      this.#lastError = undefined
      // A new connection may be to a new master (a failover): count its replicas anew.
      this.#replicas = { count: 0, at: 0 }
      if (connected) for (const fn of this.#reconnectListeners) fn()
      connected = true
    })
  }

  #clientOptions (): RedisOptions {
    return {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.#opts.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      keyPrefix: this.#prefix,
      // Back off to at most half a second: a store that is back is used again at once.
      retryStrategy: (times) => Math.min(times * 50, 500),
      // A master demoted by a failover answers READONLY: reconnect, and let
      // Sentinel (or the Cluster's slot map) name the new one. The command itself fails (503).
      reconnectOnError: (err) => err.message.startsWith('READONLY') ? 1 : false
    }
  }

  /** Observes every command and connection error (metrics); returns the way to stop. */
  observe (observer: StoreObserver): () => void {
    this.#observers.add(observer)
    return () => { this.#observers.delete(observer) }
  }

  /** The prefix of every key (a second store with the same prefix sees the same data). */
  get keyPrefix (): string { return this.#prefix }

  /** The ioredis client itself, for the libraries that keep their own keys in it (rate-limiter-flexible). */
  get client (): Redis | Cluster { return this.#client }

  async connect (): Promise<void> {
    try {
      await this.#client.connect()
      if (this.#opts.topology.mode !== 'cluster') {
        // A Cluster node reached as a standalone server answers MOVED for most keys: say what to set instead.
        const info = await (this.#client as Redis).info('cluster')
        if (/cluster_enabled:1/.test(info)) throw new Error('this Redis is a Cluster node; set REDIS_CLUSTER_NODES instead of REDIS_URL')
      }
    } catch (err) {
      this.#client.disconnect()
      throw new StoreUnavailable({ cause: this.#lastError ?? err })
    }
  }

  async ping (): Promise<void> {
    await this.#guard(() => this.#client.set(keys.readiness, String(Date.now()), 'PX', 10_000))
  }

  async get (key: string): Promise<string | null> {
    return await this.#guard(() => this.#client.get(key))
  }

  async set (key: string, value: string, ttlMs: number): Promise<void> {
    await this.#guard(() => ttlMs > 0 ? this.#client.set(key, value, 'PX', ttlMs) : this.#client.set(key, value))
  }

  async setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    const res = await this.#guard(() => ttlMs > 0 ? this.#client.set(key, value, 'PX', ttlMs, 'NX') : this.#client.set(key, value, 'NX'))
    return res === 'OK'
  }

  async del (key: string): Promise<boolean> {
    return (await this.#guard(() => this.#client.del(key))) > 0
  }

  async incr (key: string, ttlMs: number): Promise<number> {
    return Number(await this.#guard(() => this.#client.wpagIncr(key, String(ttlMs))))
  }

  async createSession (uid: number, sid: string, info: string, refreshHash: string, ttlMs: number): Promise<void> {
    await this.#guard(() => this.#client.wpagCreateSession(keys.sessions(uid), keys.refresh(uid, refreshHash), sid, info, String(ttlMs), String(Date.now()), sid))
  }

  async rotateRefresh (uid: number, sid: string, oldHash: string, newHash: string, info: string, ttlMs: number): Promise<Rotation> {
    const res = await this.#guard(() => this.#client.wpagRotate(keys.sessions(uid), keys.refresh(uid, oldHash), keys.refresh(uid, newHash), sid, info, String(ttlMs), SPENT))
    return res as Rotation
  }

  async findRefresh (uid: number, refreshHash: string): Promise<string | null> {
    const v = await this.get(keys.refresh(uid, refreshHash))
    return v === null ? null : v.startsWith(SPENT) ? v.slice(SPENT.length) : v
  }

  async refreshState (uid: number, refreshHash: string): Promise<{ sid: string, spent: boolean } | null> {
    const v = await this.get(keys.refresh(uid, refreshHash))
    return v === null ? null : v.startsWith(SPENT) ? { sid: v.slice(SPENT.length), spent: true } : { sid: v, spent: false }
  }

  async endSession (uid: number, sid: string): Promise<boolean> {
    return (await this.#guard(() => this.#client.hdel(keys.sessions(uid), sid))) > 0
  }

  async endSessions (uid: number): Promise<string[]> {
    return await this.#guard(() => this.#client.wpagEndSessions(keys.sessions(uid)))
  }

  async sessions (uid: number, now: number): Promise<Record<string, string>> {
    const flat = await this.#guard(() => this.#client.wpagSessions(keys.sessions(uid), String(now)))
    const out: Record<string, string> = {}
    for (let i = 0; i < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!
    return out
  }

  async revoke (entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (entries.length === 0) return
    await this.#guard(() => this.#client.wpagRevoke(keys.revocations, this.#prefix + 'revocations', ...entries.flat()))
    await this.#durable(keys.revocations)
  }

  async revocations (): Promise<Record<string, string>> {
    return await this.#guard(() => this.#client.hgetall(keys.revocations))
  }

  async revocationsOf (fields: readonly string[]): Promise<Array<string | null>> {
    if (fields.length === 0) return []
    return await this.#guard(() => this.#client.hmget(keys.revocations, ...fields))
  }

  async pruneRevocations (fields: readonly string[]): Promise<void> {
    if (fields.length === 0) return
    await this.#guard(() => this.#client.hdel(keys.revocations, ...fields))
  }

  async putRecord (catalog: CatalogName, id: string, record: string, onlyIfPresent = false): Promise<boolean> {
    const stored = await this.#guard(() => this.#client.wpagPutRecord(keys.records(catalog), this.#prefix + 'catalogs', catalog, id, record, onlyIfPresent ? '1' : '0'))
    if (stored === 0) return false
    await this.#durable(keys.records(catalog))
    return true
  }

  async deleteRecords (catalog: CatalogName, ids: readonly string[]): Promise<string[]> {
    if (ids.length === 0) return []
    const gone = await this.#guard(() => this.#client.wpagDeleteRecords(keys.records(catalog), keys.notes(catalog), this.#prefix + 'catalogs', catalog, ...ids))
    await this.#durable(keys.records(catalog))
    return gone
  }

  async records (catalog: CatalogName): Promise<Record<string, string>> {
    return await this.#guard(() => this.#client.hgetall(keys.records(catalog)))
  }

  async recordsOf (catalog: CatalogName, ids: readonly string[]): Promise<Array<string | null>> {
    if (ids.length === 0) return []
    return await this.#guard(() => this.#client.hmget(keys.records(catalog), ...ids))
  }

  async setNotes (catalog: CatalogName, notes: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (notes.length === 0) return
    await this.#guard(() => this.#client.hset(keys.notes(catalog), ...notes.flat()))
  }

  async notes (catalog: CatalogName, ids: readonly string[]): Promise<Array<string | null>> {
    if (ids.length === 0) return []
    return await this.#guard(() => this.#client.hmget(keys.notes(catalog), ...ids))
  }

  async appendAudit (lines: Buffer, maxEntries: number, minTime: number): Promise<void> {
    if (lines.length === 0) return
    // One command (scripts.ts, wpagAppendAudit).
    await this.#guard(() => this.#client.wpagAppendAudit(keys.audit, String(maxEntries), String(minTime), String(Math.max(0, Date.now() - minTime)), lines))
  }

  async readAudit (range: AuditRange, count: number): Promise<Array<[string, string]>> {
    const { end, start } = streamBounds(range)
    const rows = await this.#guard(() => this.#client.xrevrange(keys.audit, end, start, 'COUNT', count))
    return rows.map(([id, fields]) => [id, fields[1] ?? ''])
  }

  async subscribe (onMessage: (message: string) => void, onState?: (up: boolean) => void, channel: Channel = 'revocations'): Promise<Unsubscribe> {
    const subscriber = new Subscriber({
      connect: (attempt) => this.#subscriberConnection(attempt),
      channel: this.#prefix + channel,
      onMessage,
      onState: onState ?? (() => {})
    })
    this.#subscribers.add(subscriber)
    await subscriber.start()
    return async () => {
      this.#subscribers.delete(subscriber)
      await subscriber.stop()
    }
  }

  onReconnect (listener: () => void): void {
    this.#reconnectListeners.add(listener)
  }

  async generation (candidateId: string, now: number): Promise<{ id: string, since: number }> {
    const v = await this.#guard(() => this.#client.wpagGeneration(keys.generation, `${candidateId}:${now}`))
    const colon = v.lastIndexOf(':')
    return { id: v.slice(0, colon), since: Number(v.slice(colon + 1)) }
  }

  async close (): Promise<void> {
    for (const s of this.#subscribers) await s.stop()
    this.#subscribers.clear()
    this.#client.disconnect()
  }

  /** A connection of its own for pub/sub: Cluster nodes all see every message, so any node serves. */
  #subscriberConnection (attempt: number): Redis {
    const t = this.#opts.topology
    const options = { ...this.#clientOptions(), keyPrefix: undefined, enableOfflineQueue: true, commandTimeout: undefined, retryStrategy: () => null, reconnectOnError: undefined, lazyConnect: true }
    if (t.mode !== 'cluster') return connection(t, options) as Redis
    const nodes = (this.#client as Cluster).nodes('master')
    const known = nodes.length > 0 ? nodes.map((n) => ({ host: n.options.host ?? '127.0.0.1', port: n.options.port ?? 6379 })) : t.nodes
    const node = known[attempt % known.length]!
    return new Redis({ ...options, ...auth(t), host: node.host, port: node.port })
  }

  /**
   * Waits until the write is on a replica, where a failover keeps it (WAIT),
   * when the master has replicas (or the configured number). A write no
   * replica acknowledged in time is not acknowledged to the caller either.
   */
  async #durable (key: string): Promise<void> {
    const wanted = await this.#replicasWanted(key)
    if (wanted === 0) return
    const node = this.#nodeFor(key)
    const acked = await this.#guard(() => node.wait(wanted, this.#opts.waitTimeoutMs ?? 1000))
    if (acked < wanted) throw new StoreUnavailable({ cause: new Error(`the write reached ${acked} of ${wanted} replicas in ${this.#opts.waitTimeoutMs ?? 1000} ms`) })
  }

  async #replicasWanted (key: string): Promise<number> {
    const setting = this.#opts.waitReplicas ?? 'auto'
    if (setting !== 'auto') return setting
    const now = Date.now()
    if (now - this.#replicas.at > 10_000) {
      const info = await this.#guard(() => this.#nodeFor(key).info('replication'))
      this.#replicas = { count: Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0), at: now }
    }
    return Math.min(this.#replicas.count, 1)
  }

  /** The connection to the master serving a key (for commands that name no key, like WAIT). */
  #nodeFor (key: string): Redis {
    if (!(this.#client instanceof Cluster)) return this.#client as Redis
    const slot = calculateSlot(this.#prefix + key)
    const [master] = (this.#client as unknown as { slots: string[][] }).slots[slot] ?? []
    const node = this.#client.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === master)
    if (node === undefined) throw new StoreUnavailable({ cause: new Error(`no master known for slot ${slot}`) })
    return node
  }

  async #guard<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      if (err instanceof StoreUnavailable) throw err
      // While disconnected, the command only says "Stream isn't writeable": the connection's own error says why.
      const status = this.#client.status
      const why = status === 'ready' ? err : this.#lastError ?? new Error(`not connected to Redis (${status})`)
      throw new StoreUnavailable({ cause: why })
    }
  }
}

function auth (t: Topology): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  return {
    ...(t.username === undefined ? {} : { username: t.username }),
    ...(t.password === undefined ? {} : { password: t.password }),
    ...(t.tls ? { tls: t.ca === undefined ? {} : { ca: t.ca } } : {})
  }
}

/** An ioredis client for the topology, through ioredis's own Sentinel and Cluster support. */
function connection (t: Topology, options: RedisOptions): Client {
  switch (t.mode) {
    case 'standalone':
      return new Redis({ ...options, ...auth(t), host: t.node.host, port: t.node.port, db: t.db })
    case 'sentinel':
      return new Redis({
        ...options,
        ...auth(t),
        sentinels: t.sentinels,
        name: t.name,
        db: t.db,
        ...(t.sentinelPassword === undefined ? {} : { sentinelPassword: t.sentinelPassword }),
        ...(t.tls ? { enableTLSForSentinelMode: true, sentinelTLS: t.ca === undefined ? {} : { ca: t.ca } } : {}),
        // Subscribe to the Sentinels' +switch-master: a promotion is followed at once, not at the next error.
        failoverDetector: true,
        sentinelRetryStrategy: (times) => Math.min(times * 50, 500)
      })
    case 'cluster': {
      const { keyPrefix, ...redisOptions } = options
      return new Cluster(t.nodes as ClusterNode[], {
        keyPrefix,
        enableOfflineQueue: false,
        scaleReads: 'master',
        lazyConnect: true,
        clusterRetryStrategy: (times) => Math.min(times * 50, 500),
        retryDelayOnFailover: 100,
        retryDelayOnClusterDown: 100,
        // Without it ioredis learns of a promoted replica only from a MOVED, which
        // a master that hangs (rather than dies) never sends.
        slotsRefreshInterval: 1000,
        redisOptions: { ...redisOptions, ...auth(t) }
      })
    }
  }
}
