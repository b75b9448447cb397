import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../store/index.js'

// Revocation that reaches every replica (docs/architecture.md §6). The list lives in one
// Redis hash (field `<kind>:<id>` → until, ms since the epoch); every change
// is published, and each replica keeps a local view so that checking a token
// costs no Redis round trip. While its subscription is down (messages may
// have been missed) a replica asks Redis instead, and a Redis that cannot
// answer makes the check fail (closed) rather than pass.

const LIST = 'revocations'
const CHANNEL = 'revocations'
const RESYNC_INTERVAL_MS = 30_000

export type RevocationKind = 'jti' | 'sid'

export class Revocations {
  readonly #store: Store
  readonly #log: FastifyBaseLogger
  readonly #view = new Map<string, number>()
  #synced = false
  #unsubscribe: (() => Promise<void>) | undefined
  #timer: NodeJS.Timeout | undefined
  #resyncing: Promise<void> | undefined

  constructor (store: Store, log: FastifyBaseLogger) {
    this.#store = store
    this.#log = log
  }

  /** Whether the local view is complete (subscribed and loaded). */
  get synced (): boolean { return this.#synced }

  async start (): Promise<void> {
    this.#unsubscribe = await this.#store.subscribe(CHANNEL, (m) => this.#apply(m), (up) => {
      if (!up) {
        if (this.#synced) this.#log.warn('revocation feed lost: checking tokens against Redis until it is back')
        this.#synced = false
      } else void this.resync()
    })
    // The timer reloads the list now and then even while synced: it catches a
    // missed 'up', and a revocation whose write reached Redis but whose
    // publish did not (the revoker then got a 503, but the entry stands).
    this.#timer = setInterval(() => {
      this.#prune()
      void this.resync()
    }, RESYNC_INTERVAL_MS)
    this.#timer.unref()
    await this.resync()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.#unsubscribe?.()
  }

  /** Reloads the whole list from Redis; the view is trusted again afterwards. */
  async resync (): Promise<void> {
    this.#resyncing ??= (async () => {
      try {
        const all = await this.#store.hgetall(LIST)
        const now = Date.now()
        const expired: string[] = []
        for (const [field, until] of Object.entries(all)) {
          const u = Number(until)
          if (u <= now) expired.push(field)
          else this.#remember(field, u)
        }
        await this.#store.hdel(LIST, expired)
        if (!this.#synced) this.#log.info(`revocation list loaded (${this.#view.size} entries)`)
        this.#synced = true
      } catch (err) {
        this.#log.warn({ err }, 'revocation list could not be loaded; will retry')
      } finally {
        this.#resyncing = undefined
      }
    })()
    await this.#resyncing
  }

  async revoke (kind: RevocationKind, id: string, untilMs: number): Promise<void> {
    const field = `${kind}:${id}`
    await this.#store.hset(LIST, field, String(untilMs))
    this.#remember(field, untilMs)
    await this.#store.publish(CHANNEL, `${field}|${untilMs}`)
  }

  /**
   * True when the token (its jti) or its session (sid) is revoked. Answers
   * from the local view while synced (no await); otherwise from Redis, and
   * rejects with GW_ERR_STORE_UNAVAILABLE when Redis cannot answer.
   */
  isRevoked (jti: string, sid: string): boolean | Promise<boolean> {
    if (this.#synced) return this.#live(`jti:${jti}`) || this.#live(`sid:${sid}`)
    return this.#store.hmget(LIST, [`jti:${jti}`, `sid:${sid}`]).then((values) => {
      const now = Date.now()
      return values.some((v) => v !== null && Number(v) > now)
    })
  }

  #live (field: string): boolean {
    const until = this.#view.get(field)
    return until !== undefined && until > Date.now()
  }

  #apply (message: string): void {
    const bar = message.lastIndexOf('|')
    const until = Number(message.slice(bar + 1))
    if (bar > 0 && Number.isFinite(until)) this.#remember(message.slice(0, bar), until)
  }

  #remember (field: string, until: number): void {
    if ((this.#view.get(field) ?? 0) < until) this.#view.set(field, until)
  }

  #prune (): void {
    const now = Date.now()
    for (const [field, until] of this.#view) if (until <= now) this.#view.delete(field)
  }
}
