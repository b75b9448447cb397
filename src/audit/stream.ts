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
/** Bytes of one batch buffer; an entry larger than what is left starts the next one. */
const CHUNK = 128 * 1024

/** Entries waiting, as JSON lines in a buffer outside the JS heap. */
interface Batch { lines: Buffer, used: number, count: number }

/**
 * Entries wait as JSON lines in buffers outside the JS heap, not as objects:
 * a second's worth of objects under load lived long enough for the garbage
 * collector to promote them, and the old generation then grew by tens of
 * MB between its collections, whose pauses showed in the p99 latency
 * (bench/analysis.md). A request's entry is serialised at once and its
 * string dies young; the buffers are reused once written, since each one
 * outliving a collection would keep its memory until the next full one. A
 * batch goes to the store when it holds BATCH entries or when the timer
 * ticks, whichever is first.
 */
export class AuditStream {
  readonly #store: Store
  readonly #opts: AuditStreamOptions
  readonly #log: FastifyBaseLogger
  /** Full batches, oldest first, then the one being filled (last). */
  #batches: Batch[] = []
  /** Buffers written and free again: reused, so the store's round trips allocate nothing. */
  #free: Buffer[] = []
  #waiting = 0
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
    if (this.#waiting >= this.#opts.bufferEntries) {
      this.onDropped('overflow', 1)
      return
    }
    // JSON escapes every newline inside its strings: one entry, one line.
    const line = JSON.stringify(entry)
    const size = Buffer.byteLength(line) + 1
    let batch = this.#batches.at(-1)
    if (batch === undefined || batch.count >= BATCH || batch.used + size > batch.lines.length) {
      batch = { lines: (size <= CHUNK ? this.#free.pop() : undefined) ?? Buffer.allocUnsafeSlow(Math.max(CHUNK, size)), used: 0, count: 0 }
      this.#batches.push(batch)
    }
    batch.used += batch.lines.write(line, batch.used)
    batch.lines[batch.used++] = 0x0a
    batch.count++
    this.#waiting++
    if (batch.count >= BATCH && this.#flushing === undefined) void this.flush()
  }

  /** Writes what is queued (after any write in progress); resolves when done, whatever happened. */
  async flush (): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing
    if (this.#waiting === 0) return
    const batches = this.#batches
    this.#batches = []
    this.#waiting = 0
    this.#flushing = this.#write(batches).finally(() => { this.#flushing = undefined })
    await this.#flushing
  }

  async #write (batches: Batch[]): Promise<void> {
    const minTime = Date.now() - this.#opts.retentionMs
    for (const { lines, used, count } of batches) {
      try {
        await this.#store.appendAudit(lines.subarray(0, used), this.#opts.maxEntries, minTime)
        this.onWritten(count)
        // Only once the store has answered: a write that failed may still sit in the socket's queue.
        // A few are kept; a backlog's worth (a store that was down) goes to the garbage collector.
        if (lines.length === CHUNK && this.#free.length < 4) this.#free.push(lines)
        if (this.#failing) this.#log.info('audit stream: writing again')
        this.#failing = false
      } catch (err) {
        // Not retried: a store that is down would make the queue, and the
        // memory, grow without bound. Logged once per outage, counted always.
        this.onDropped('store', count)
        if (!this.#failing) this.#log.warn({ err }, 'audit stream: entries dropped, the store did not take them (counted in wpag_audit_dropped_total)')
        this.#failing = true
      }
    }
  }
}
