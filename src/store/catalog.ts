import type { FastifyBaseLogger } from 'fastify'
import type { CatalogName, Store, Unsubscribe } from './store.js'

// A catalog of records (API keys, OAuth clients) that every replica keeps in
// memory, so that checking a credential costs no round trip to the store
// (docs/architecture.md §7). It works as the revocation list does: every
// change is stored and announced in one step (with the record itself), each
// replica applies the announcements to its view, and reloads the whole
// catalog whenever the feed comes back, the store's connection comes back, and
// every 30 s as a safety net. While the view cannot be trusted, lookups go to
// the store, and a store that cannot answer fails the lookup (closed).

const RESYNC_INTERVAL_MS = 30_000

export class Catalog<T> {
  readonly #store: Store
  readonly #name: CatalogName
  readonly #log: FastifyBaseLogger
  readonly #parse: (raw: string) => T | undefined
  /** id → the record, and its stored form (to tell a reload's changes). */
  #view = new Map<string, { raw: string, record: T }>()
  #synced = false
  /** Changes announced while a reload is in flight: they win over what the reload read (it may predate them). */
  #announcedDuringLoad: Map<string, string> | undefined
  #unsubscribe: Unsubscribe | undefined
  #timer: NodeJS.Timeout | undefined
  #loading: Promise<void> | undefined
  readonly #listeners = new Set<(id: string, record: T | undefined) => void>()

  /** `parse` turns a stored record into T; a record it cannot read (undefined) is treated as absent. */
  constructor (store: Store, name: CatalogName, log: FastifyBaseLogger, parse: (raw: string) => T | undefined) {
    this.#store = store
    this.#name = name
    this.#log = log
    this.#parse = parse
  }

  get synced (): boolean { return this.#synced }
  get size (): number { return this.#view.size }

  async start (): Promise<void> {
    this.#unsubscribe = await this.#store.subscribe((m) => this.#announced(m), (up) => {
      if (!up) this.#synced = false
      else void this.reload()
    }, 'catalogs')
    this.#store.onReconnect(() => { void this.reload() })
    this.#timer = setInterval(() => { void this.reload() }, RESYNC_INTERVAL_MS)
    this.#timer.unref()
    await this.reload()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#unsubscribe?.()
  }

  /** Told of every change this replica learns of (its own and announced ones); for caches built on records. */
  onChange (listener: (id: string, record: T | undefined) => void): void {
    this.#listeners.add(listener)
  }

  /** Reloads the whole catalog; the view is trusted again afterwards. */
  async reload (): Promise<void> {
    this.#loading ??= (async () => {
      this.#announcedDuringLoad = new Map()
      try {
        const all = await this.#store.records(this.#name)
        for (const [id, raw] of this.#announcedDuringLoad) all[id] = raw
        const view = new Map<string, { raw: string, record: T }>()
        for (const [id, raw] of Object.entries(all)) {
          const record = raw === '' ? undefined : this.#parse(raw)
          if (record !== undefined) view.set(id, { raw, record })
        }
        const before = this.#view
        this.#view = view
        for (const id of new Set([...before.keys(), ...view.keys()])) {
          if (before.get(id)?.raw !== view.get(id)?.raw) this.#notify(id, view.get(id)?.record)
        }
        this.#synced = true
      } catch (err) {
        this.#log.warn({ err }, `the ${this.#name} catalog could not be loaded; will retry`)
      } finally {
        this.#announcedDuringLoad = undefined
        this.#loading = undefined
      }
    })()
    await this.#loading
  }

  /** One record: from the view while synced (no await), otherwise from the store (rejects when it cannot answer). */
  get (id: string): T | undefined | Promise<T | undefined> {
    if (this.#synced) return this.#view.get(id)?.record
    return this.#store.recordsOf(this.#name, [id]).then(([raw]) => raw === null || raw === undefined ? undefined : this.#parse(raw))
  }

  /** Every record. */
  async all (): Promise<T[]> {
    if (this.#synced) return [...this.#view.values()].map((e) => e.record)
    const all = await this.#store.records(this.#name)
    return Object.values(all).flatMap((raw) => this.#parse(raw) ?? [])
  }

  /** Stores a record and announces it; resolves once acknowledged. */
  async put (id: string, record: T): Promise<void> {
    const raw = JSON.stringify(record)
    await this.#store.putRecord(this.#name, id, raw)
    this.#apply(id, raw)
  }

  /** Replaces a record that exists; one deleted meanwhile stays deleted (false). */
  async update (id: string, record: T): Promise<boolean> {
    const raw = JSON.stringify(record)
    const stored = await this.#store.putRecord(this.#name, id, raw, true)
    if (stored) this.#apply(id, raw)
    return stored
  }

  /** Removes records; gone from this replica at once, from the others when the announcement reaches them. */
  async delete (ids: readonly string[]): Promise<string[]> {
    for (const id of ids) this.#apply(id, '')
    return await this.#store.deleteRecords(this.#name, ids)
  }

  /** Notes kept beside the records (last use), never announced. */
  async setNotes (notes: ReadonlyArray<readonly [string, string]>): Promise<void> {
    await this.#store.setNotes(this.#name, notes)
  }

  async notes (ids: readonly string[]): Promise<Array<string | null>> {
    return await this.#store.notes(this.#name, ids)
  }

  #announced (message: string): void {
    const first = message.indexOf('\n')
    const second = message.indexOf('\n', first + 1)
    if (first === -1 || second === -1 || message.slice(0, first) !== this.#name) return
    const id = message.slice(first + 1, second)
    const raw = message.slice(second + 1)
    this.#announcedDuringLoad?.set(id, raw)
    this.#apply(id, raw)
  }

  /** A record's new stored form ('' when deleted, or unreadable: absent). */
  #apply (id: string, raw: string): void {
    const record = raw === '' ? undefined : this.#parse(raw)
    if (record === undefined) {
      if (!this.#view.delete(id)) return
    } else {
      if (this.#view.get(id)?.raw === raw) return
      this.#view.set(id, { raw, record })
    }
    this.#notify(id, record)
  }

  #notify (id: string, record: T | undefined): void {
    for (const fn of this.#listeners) {
      try { fn(id, record) } catch (err) { this.#log.error({ err }, `a ${this.#name} listener failed`) }
    }
  }
}
