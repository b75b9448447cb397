import { SPENT } from './keys.js'
import type { AuditRange, CatalogName, Channel, Rotation, Store, Unsubscribe } from './store.js'
import { auditIdTime, compareAuditIds, inAuditRange } from './audit-ids.js'

interface Entry { value: string, expiresAt: number }
interface Sessions { byId: Map<string, string>, expiresAt: number }

/**
 * In-process store for a single instance (local trials, tests). Nothing is
 * shared between processes, which is why start-up warns when it is used.
 * Each operation runs to completion before another starts (one thread, no
 * await inside), which is what makes the atomic steps atomic here.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  readonly #data = new Map<string, Entry>()
  readonly #sessions = new Map<number, Sessions>()
  readonly #revocations = new Map<string, string>()
  readonly #subscribers = new Map<Channel, Set<(message: string) => void>>([['revocations', new Set()], ['catalogs', new Set()]])
  readonly #records = new Map<CatalogName, Map<string, string>>()
  readonly #notes = new Map<CatalogName, Map<string, string>>()
  /** The audit stream, oldest first, with the id its last entry got. */
  readonly #audit: Array<[string, string]> = []
  #auditLast: [number, number] = [0, 0]
  #generation: string | undefined
  #sweeper: NodeJS.Timeout

  constructor () {
    this.#sweeper = setInterval(() => this.#sweep(), 60_000)
    this.#sweeper.unref()
  }

  async ping (): Promise<void> {}

  async get (key: string): Promise<string | null> {
    return this.#live(key)?.value ?? null
  }

  async set (key: string, value: string, ttlMs: number): Promise<void> {
    this.#put(key, value, ttlMs)
  }

  async setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return false
    this.#put(key, value, ttlMs)
    return true
  }

  async del (key: string): Promise<boolean> {
    const had = this.#live(key) !== undefined
    this.#data.delete(key)
    return had
  }

  async incr (key: string, ttlMs: number): Promise<number> {
    const entry = this.#live(key)
    const next = (entry === undefined ? 0 : Number(entry.value)) + 1
    this.#data.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? (ttlMs > 0 ? Date.now() + ttlMs : Infinity) })
    return next
  }

  async createSession (uid: number, sid: string, info: string, refreshHash: string, ttlMs: number): Promise<void> {
    const sessions = this.#userSessions(uid, Date.now(), true)!
    sessions.byId.set(sid, info)
    sessions.expiresAt = Date.now() + ttlMs
    this.#put(refreshKey(uid, refreshHash), sid, ttlMs)
  }

  async rotateRefresh (uid: number, sid: string, oldHash: string, newHash: string, info: string, ttlMs: number): Promise<Rotation> {
    const v = this.#live(refreshKey(uid, oldHash))?.value
    if (v === undefined) return 'invalid'
    const sessions = this.#userSessions(uid, Date.now(), false)
    if (v.startsWith(SPENT)) {
      sessions?.byId.delete(v.slice(SPENT.length))
      return 'reused'
    }
    if (v !== sid || sessions?.byId.has(sid) !== true) return 'invalid'
    this.#put(refreshKey(uid, oldHash), SPENT + v, ttlMs)
    this.#put(refreshKey(uid, newHash), v, ttlMs)
    sessions.byId.set(sid, info)
    sessions.expiresAt = Date.now() + ttlMs
    return 'rotated'
  }

  async findRefresh (uid: number, refreshHash: string): Promise<string | null> {
    const v = this.#live(refreshKey(uid, refreshHash))?.value
    return v === undefined ? null : v.startsWith(SPENT) ? v.slice(SPENT.length) : v
  }

  async refreshState (uid: number, refreshHash: string): Promise<{ sid: string, spent: boolean } | null> {
    const v = this.#live(refreshKey(uid, refreshHash))?.value
    return v === undefined ? null : v.startsWith(SPENT) ? { sid: v.slice(SPENT.length), spent: true } : { sid: v, spent: false }
  }

  async endSession (uid: number, sid: string): Promise<boolean> {
    return this.#userSessions(uid, Date.now(), false)?.byId.delete(sid) ?? false
  }

  async endSessions (uid: number): Promise<string[]> {
    const sids = [...this.#userSessions(uid, Date.now(), false)?.byId.keys() ?? []]
    this.#sessions.delete(uid)
    return sids
  }

  async sessions (uid: number, now: number): Promise<Record<string, string>> {
    const sessions = this.#userSessions(uid, now, false)
    if (sessions === undefined) return {}
    prune(sessions, now)
    return Object.fromEntries(sessions.byId)
  }

  async revoke (entries: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (entries.length === 0) return
    for (const [field, value] of entries) {
      const current = Number(this.#revocations.get(field))
      if (!(current >= Number(value))) this.#revocations.set(field, value)
    }
    this.#publish('revocations', entries.map(([f, v]) => `${f}|${v}`).join('\n'))
  }

  async revocations (): Promise<Record<string, string>> {
    return Object.fromEntries(this.#revocations)
  }

  async revocationsOf (fields: readonly string[]): Promise<Array<string | null>> {
    return fields.map((f) => this.#revocations.get(f) ?? null)
  }

  async pruneRevocations (fields: readonly string[]): Promise<void> {
    for (const f of fields) this.#revocations.delete(f)
  }

  async putRecord (catalog: CatalogName, id: string, record: string, onlyIfPresent = false): Promise<boolean> {
    const records = this.#catalog(this.#records, catalog)
    if (onlyIfPresent && !records.has(id)) return false
    records.set(id, record)
    this.#publish('catalogs', `${catalog}\n${id}\n${record}`)
    return true
  }

  async deleteRecords (catalog: CatalogName, ids: readonly string[]): Promise<string[]> {
    const records = this.#catalog(this.#records, catalog)
    const gone = ids.filter((id) => records.delete(id))
    for (const id of ids) {
      this.#catalog(this.#notes, catalog).delete(id)
      this.#publish('catalogs', `${catalog}\n${id}\n`)
    }
    return gone
  }

  async records (catalog: CatalogName): Promise<Record<string, string>> {
    return Object.fromEntries(this.#catalog(this.#records, catalog))
  }

  async recordsOf (catalog: CatalogName, ids: readonly string[]): Promise<Array<string | null>> {
    const records = this.#catalog(this.#records, catalog)
    return ids.map((id) => records.get(id) ?? null)
  }

  async setNotes (catalog: CatalogName, notes: ReadonlyArray<readonly [string, string]>): Promise<void> {
    const map = this.#catalog(this.#notes, catalog)
    for (const [id, note] of notes) map.set(id, note)
  }

  async notes (catalog: CatalogName, ids: readonly string[]): Promise<Array<string | null>> {
    const map = this.#catalog(this.#notes, catalog)
    return ids.map((id) => map.get(id) ?? null)
  }

  async subscribe (onMessage: (message: string) => void, onState?: (up: boolean) => void, channel: Channel = 'revocations'): Promise<Unsubscribe> {
    onState?.(true) // in-process delivery cannot be interrupted
    const subscribers = this.#subscribers.get(channel)!
    subscribers.add(onMessage)
    return async () => { subscribers.delete(onMessage) }
  }

  onReconnect (_listener: () => void): void {} // in-process: never lost

  async generation (candidateId: string, now: number): Promise<{ id: string, since: number }> {
    this.#generation ??= `${candidateId}:${now}`
    const colon = this.#generation.lastIndexOf(':')
    return { id: this.#generation.slice(0, colon), since: Number(this.#generation.slice(colon + 1)) }
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
    this.#data.clear()
    this.#sessions.clear()
    this.#revocations.clear()
    for (const set of this.#subscribers.values()) set.clear()
    this.#records.clear()
    this.#notes.clear()
  }

  #publish (channel: Channel, message: string): void {
    for (const fn of this.#subscribers.get(channel)!) queueMicrotask(() => fn(message))
  }

  #catalog (maps: Map<CatalogName, Map<string, string>>, catalog: CatalogName): Map<string, string> {
    let map = maps.get(catalog)
    if (map === undefined) maps.set(catalog, map = new Map())
    return map
  }

  async appendAudit (lines: Buffer, maxEntries: number, minTime: number): Promise<void> {
    for (const entry of lines.toString('utf8').split('\n')) {
      if (entry === '') continue
      const now = Date.now()
      this.#auditLast = now > this.#auditLast[0] ? [now, 0] : [this.#auditLast[0], this.#auditLast[1] + 1]
      this.#audit.push([this.#auditLast.join('-'), entry])
    }
    let drop = Math.max(0, this.#audit.length - maxEntries)
    while (drop < this.#audit.length && auditIdTime(this.#audit[drop]![0]) < minTime) drop++
    this.#audit.splice(0, drop)
  }

  async readAudit (range: AuditRange, count: number): Promise<Array<[string, string]>> {
    // The newest entry in range: the stream is in id order, so a binary search finds where to start.
    let lo = 0
    let hi = this.#audit.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const id = this.#audit[mid]![0]
      const past = (range.before !== undefined && compareAuditIds(id, range.before) >= 0) || (range.to !== undefined && auditIdTime(id) > range.to)
      if (past) hi = mid
      else lo = mid + 1
    }
    const out: Array<[string, string]> = []
    for (let i = lo - 1; i >= 0 && out.length < count; i--) {
      const [id, entry] = this.#audit[i]!
      if (!inAuditRange(id, range)) break
      out.push([id, entry])
    }
    return out
  }

  #userSessions (uid: number, now: number, create: boolean): Sessions | undefined {
    let s = this.#sessions.get(uid)
    if (s !== undefined && s.expiresAt <= now) {
      this.#sessions.delete(uid)
      s = undefined
    }
    if (s === undefined && create) this.#sessions.set(uid, s = { byId: new Map(), expiresAt: now })
    if (s !== undefined && create) prune(s, now)
    return s
  }

  #put (key: string, value: string, ttlMs: number): void {
    this.#data.set(key, { value, expiresAt: ttlMs > 0 ? Date.now() + ttlMs : Infinity })
  }

  #live (key: string): Entry | undefined {
    const entry = this.#data.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.#data.delete(key)
      return undefined
    }
    return entry
  }

  #sweep (): void {
    const now = Date.now()
    for (const [key, entry] of this.#data) if (entry.expiresAt <= now) this.#data.delete(key)
    for (const [uid, s] of this.#sessions) if (s.expiresAt <= now) this.#sessions.delete(uid)
  }
}

const refreshKey = (uid: number, hash: string) => `rt:${uid}:${hash}`

/** Drops sessions whose expiresAt has passed, or whose record cannot be read (as the Lua prune does). */
function prune (s: Sessions, now: number): void {
  for (const [sid, info] of s.byId) {
    let expiresAt: unknown
    try { expiresAt = (JSON.parse(info) as { expiresAt?: unknown }).expiresAt } catch { /* unreadable: dropped */ }
    if (typeof expiresAt !== 'number' || expiresAt <= now) s.byId.delete(sid)
  }
}
