import type { Store, Unsubscribe } from './store.js'

interface Entry { value: string, expiresAt: number }

/**
 * In-process store for a single instance (local trials, tests). Nothing is
 * shared between processes, which is why start-up warns when it is used.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const
  readonly #data = new Map<string, Entry>()
  readonly #subscribers = new Map<string, Set<(message: string) => void>>()
  readonly #hashes = new Map<string, Map<string, string>>()
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
    this.#data.set(key, { value, expiresAt: ttlMs > 0 ? Date.now() + ttlMs : Infinity })
  }

  async setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    if (this.#live(key) !== undefined) return false
    await this.set(key, value, ttlMs)
    return true
  }

  async del (key: string): Promise<boolean> {
    const had = this.#live(key) !== undefined || this.#hashes.has(key)
    this.#data.delete(key)
    this.#hashes.delete(key)
    return had
  }

  async take (key: string): Promise<string | null> {
    // Single-threaded: the read and the delete cannot interleave with another caller.
    const entry = this.#live(key)
    this.#data.delete(key)
    return entry?.value ?? null
  }

  async claim (key: string, claimedPrefix: string, marker: string, ttlMs: number): Promise<string | null> {
    const entry = this.#live(key)
    if (entry === undefined) return null
    if (!entry.value.startsWith(claimedPrefix)) await this.set(key, marker + entry.value, ttlMs)
    return entry.value
  }

  async hset (key: string, field: string, value: string): Promise<void> {
    const map = this.#hash(key, true)!
    map.set(field, value)
  }

  async hget (key: string, field: string): Promise<string | null> {
    return this.#hash(key, false)?.get(field) ?? null
  }

  async hmget (key: string, fields: readonly string[]): Promise<Array<string | null>> {
    const map = this.#hash(key, false)
    return fields.map((f) => map?.get(f) ?? null)
  }

  async hgetall (key: string): Promise<Record<string, string>> {
    return Object.fromEntries(this.#hash(key, false) ?? [])
  }

  async hdel (key: string, fields: readonly string[]): Promise<number> {
    const map = this.#hash(key, false)
    let n = 0
    for (const f of fields) if (map?.delete(f) === true) n++
    return n
  }

  async incr (key: string, ttlMs: number): Promise<number> {
    const entry = this.#live(key)
    const next = (entry === undefined ? 0 : Number(entry.value)) + 1
    this.#data.set(key, { value: String(next), expiresAt: entry?.expiresAt ?? (ttlMs > 0 ? Date.now() + ttlMs : Infinity) })
    return next
  }

  async publish (channel: string, message: string): Promise<void> {
    for (const fn of this.#subscribers.get(channel) ?? []) queueMicrotask(() => fn(message))
  }

  async subscribe (channel: string, onMessage: (message: string) => void, onState?: (up: boolean) => void): Promise<Unsubscribe> {
    onState?.(true) // in-process delivery cannot be interrupted
    let set = this.#subscribers.get(channel)
    if (set === undefined) this.#subscribers.set(channel, set = new Set())
    set.add(onMessage)
    return async () => { set.delete(onMessage) }
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
    this.#data.clear()
    this.#hashes.clear()
    this.#subscribers.clear()
  }

  #hash (key: string, create: boolean): Map<string, string> | undefined {
    let map = this.#hashes.get(key)
    if (map === undefined && create) this.#hashes.set(key, map = new Map())
    return map
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
  }
}
