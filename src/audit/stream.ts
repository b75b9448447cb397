import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../store/store.js'

// The audit stream's writer (README, "Audit trail"). A request only pushes
// its entry onto an in-memory queue; a timer writes the queue to the store
// in one round trip per batch, and so does a full batch of BATCH entries. When the store is slow or down, or the queue
// is full, entries are dropped and counted: auditing never delays or fails
// a request, and the drops are visible (wpag_audit_dropped_total).

export type AuditKind = 'request' | 'admin' | 'event'
export type AuditResult = 'allowed' | 'refused' | 'error'

/** One entry, as stored (JSON) and as the admin API returns it (with `id` and `time`). */
export interface AuditRecord {
  kind: AuditKind
  /** When it happened, ms since the epoch. */
  t: number
  result?: AuditResult
  status?: number
  code?: string
  http_method?: string
  /** The REST route (canonical, as authorised), or the gateway's own path. */
  route?: string
  /** The route pattern of the rule that decided, `default` for the policy's default. */
  rule?: string
  via?: string
  user?: number
  client?: string
  key?: string
  ms?: number
  ip?: string
  user_agent?: string
  /** Admin actions and bridge events: what was done, by whom, to what. */
  action?: string
  actor?: string
  target?: string
  detail?: Record<string, unknown>
}

export type DropReason = 'overflow' | 'store'

export interface AuditStreamOptions {
  /** Entries kept, about (Redis trims whole nodes). */
  maxEntries: number
  /** How long entries are kept. */
  retentionMs: number
  /** How often the queue is written. */
  flushMs: number
  /** Entries waiting beyond this many are dropped. */
  bufferEntries: number
}

const BATCH = 500

export class AuditStream {
  readonly #store: Store
  readonly #opts: AuditStreamOptions
  readonly #log: FastifyBaseLogger
  #queue: AuditRecord[] = []
  #flushing: Promise<void> | undefined
  #timer: NodeJS.Timeout | undefined
  #failing = false
  /** Told of every dropped batch (metrics). */
  onDropped: (reason: DropReason, count: number) => void = () => {}
  /** Told of every batch written. */
  onWritten: (count: number) => void = () => {}

  constructor (store: Store, opts: AuditStreamOptions, log: FastifyBaseLogger) {
    this.#store = store
    this.#opts = opts
    this.#log = log
  }

  start (): void {
    this.#timer = setInterval(() => { void this.flush() }, this.#opts.flushMs)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }

  /** Queues an entry; never waits, never throws. */
  record (entry: AuditRecord): void {
    if (this.#queue.length >= this.#opts.bufferEntries) {
      this.onDropped('overflow', 1)
      return
    }
    // A full batch goes at once rather than at the next tick of the timer:
    // entries then die young, before the garbage collector promotes them to
    // the old generation, where a second's worth under load made the
    // process's memory grow by tens of MB between collections (bench/analysis.md).
    if (this.#queue.push(entry) >= BATCH && this.#flushing === undefined) void this.flush()
  }

  /** Writes what is queued (after any write in progress); resolves when done, whatever happened. */
  async flush (): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
    if (this.#queue.length === 0) return
    const batch = this.#queue
    this.#queue = []
    this.#flushing = this.#write(batch).finally(() => { this.#flushing = undefined })
    await this.#flushing
  }

  async #write (entries: AuditRecord[]): Promise<void> {
    const minTime = Date.now() - this.#opts.retentionMs
    for (let i = 0; i < entries.length; i += BATCH) {
      const batch = entries.slice(i, i + BATCH)
      try {
        await this.#store.appendAudit(batch.map((e) => JSON.stringify(e)), this.#opts.maxEntries, minTime)
        this.onWritten(batch.length)
        if (this.#failing) this.#log.info('audit stream: writing again')
        this.#failing = false
      } catch (err) {
        // Not retried: a store that is down would make the queue, and the
        // memory, grow without bound. Logged once per outage, counted always.
        this.onDropped('store', batch.length)
        if (!this.#failing) this.#log.warn({ err }, 'audit stream: entries dropped, the store did not take them (counted in wpag_audit_dropped_total)')
        this.#failing = true
      }
    }
  }
}
