import { randomBytes } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../store/index.js'

// Revocation that reaches every replica (docs/architecture.md §6). The list
// lives in the store (field `<kind>:<id>` → until, ms since the epoch); every
// change is stored and broadcast in one step, and each replica keeps a local
// view so that checking a token costs no round trip. The view is reloaded
// whenever the feed comes back (a reconnect, a failover), and every 30 s as a
// safety net. While the feed is down a replica asks the store instead, and a
// store that cannot answer makes the check fail (closed), never pass.
//
// The store's generation guards against a store that comes back empty: every
// replica then refuses every token issued before the new generation began
// (a global not-before), because the revocations it held may be gone.

const RESYNC_INTERVAL_MS = 30_000

/** `cli`: every token issued to an OAuth client (the client was deleted). */
export type RevocationKind = 'jti' | 'sid' | 'usr' | 'cli'

export interface RevocationStats {
  /** Entries in the local view. */
  size: number
  /** Whether the view is complete (subscribed and loaded). */
  synced: boolean
  /** Times this replica found the store without its state. */
  stateLosses: number
  /** When the view was last loaded whole from the store (ms since the epoch; 0: never). */
  loadedAt: number
}

/** The claims of a token that revocation looks at. */
export interface Revocable { jti: string, sid: string, iat: number, uid: string, cid?: string | undefined }

export class Revocations {
  readonly #store: Store
  readonly #log: FastifyBaseLogger
  readonly #view = new Map<string, number>()
  /** Per user: credentials issued before this time (ms) are refused. */
  readonly #userNotBefore = new Map<string, number>()
  #synced = false
  #generation: string | undefined
  /** Tokens issued before this second are refused (state loss). */
  #notBefore = 0
  #stateLosses = 0
  #loadedAt = 0
  #unsubscribe: (() => Promise<void>) | undefined
  #timer: NodeJS.Timeout | undefined
  #resyncing: Promise<void> | undefined

  constructor (store: Store, log: FastifyBaseLogger) {
    this.#store = store
    this.#log = log
  }

  /** Whether the local view is complete (subscribed and loaded). */
  get synced (): boolean { return this.#synced }

  get stats (): RevocationStats {
    return { size: this.#view.size, synced: this.#synced, stateLosses: this.#stateLosses, loadedAt: this.#loadedAt }
  }

  async start (): Promise<void> {
    this.#unsubscribe = await this.#store.subscribe((m) => this.#apply(m), (up) => {
      if (!up) {
        if (this.#synced) this.#log.warn('revocation feed lost: checking tokens against the store until it is back')
        this.#synced = false
      } else void this.resync()
    })
    // Whatever connection comes back first: the store may be another one now (empty, or a new master).
    this.#store.onReconnect(() => { void this.resync() })
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

  /** Reloads the whole list; the view is trusted again afterwards. */
  async resync (): Promise<void> {
    this.#resyncing ??= (async () => {
      try {
        await this.#checkGeneration()
        const all = await this.#store.revocations()
        const now = Date.now()
        const lapsed: string[] = []
        for (const [field, value] of Object.entries(all)) {
          const u = untilOf(value)
          if (u === undefined || !(u > now)) lapsed.push(field)
          else this.#remember(field, value)
        }
        await this.#store.pruneRevocations(lapsed)
        if (!this.#synced) this.#log.info(`revocation list loaded (${this.#view.size} entries)`)
        this.#synced = true
        this.#loadedAt = Date.now()
      } catch (err) {
        this.#log.warn({ err }, 'revocation list could not be loaded; will retry')
      } finally {
        this.#resyncing = undefined
      }
    })()
    await this.#resyncing
  }

  /**
   * Stores and broadcasts revocations; resolves once they are acknowledged
   * (stored where a failover keeps them). A `usr` entry cuts off every
   * credential of that user issued before now, until `until`.
   */
  async revoke (entries: ReadonlyArray<readonly [RevocationKind, string, number]>): Promise<void> {
    if (entries.length === 0) return
    const now = Date.now()
    const fields = entries.map(([kind, id, until]) => [`${kind}:${id}`, kind === 'usr' ? `${until}:${now}` : String(until)] as const)
    // Known here at once, even if the store then fails: this replica never serves a token it was asked to revoke.
    for (const [field, value] of fields) this.#remember(field, value)
    await this.#store.revoke(fields)
  }

  /**
   * True when the token, its session, or everything issued before the
   * store's current generation is revoked. From the local view while synced
   * (no await); otherwise from the store, and rejects with
   * GW_ERR_STORE_UNAVAILABLE when the store cannot answer.
   */
  isRevoked (token: Revocable): boolean | Promise<boolean> {
    if (this.#synced) {
      return token.iat < this.#notBefore || this.#live(`jti:${token.jti}`) || this.#live(`sid:${token.sid}`) || this.#issuedBeforeUserCut(token.uid, token.iat) ||
        (token.cid !== undefined && this.#live(`cli:${token.cid}`))
    }
    return Promise.all([this.#store.revocationsOf([`jti:${token.jti}`, `sid:${token.sid}`, `usr:${token.uid}`, `cli:${token.cid ?? ''}`]), this.#checkGeneration()]).then(([values]) => {
      const now = Date.now()
      const [jti, sid, usr, cli] = values
      return token.iat < this.#notBefore || [jti, sid, token.cid === undefined ? null : cli].some((v) => v !== null && v !== undefined && Number(v) > now) ||
        (usr !== null && usr !== undefined && cutOf(usr) !== undefined && token.iat < Math.floor(cutOf(usr)! / 1000))
    })
  }

  /**
   * Whether a credential of a user issued or verified at this time (ms) is
   * cut off by the user's not-before: a password change, a deletion or "log
   * out everywhere" (Basic and API-key identities, which have no session).
   * Answers from the local view; where it is not synced, from the store.
   */
  isUserCutOff (uid: string, atMs: number): boolean | Promise<boolean> {
    if (this.#synced) return (this.#userNotBefore.get(uid) ?? 0) > atMs
    return this.#store.revocationsOf([`usr:${uid}`]).then(([v]) => v !== null && v !== undefined && (cutOf(v) ?? 0) > atMs)
  }

  /**
   * Tokens carry whole seconds: one issued in the same second as a user's
   * cut-off passes (a login right after a password change must work). The
   * sessions the cut-off ends are revoked by id besides, so this leaves at
   * most a second's tokens of a client without a session.
   */
  #issuedBeforeUserCut (uid: string, iat: number): boolean {
    const cut = this.#userNotBefore.get(uid)
    return cut !== undefined && iat < Math.floor(cut / 1000)
  }

  /** True when a session was ended (its refresh token may not rotate). */
  isSessionRevoked (sid: string): boolean | Promise<boolean> {
    if (this.#synced) return this.#live(`sid:${sid}`)
    return this.#store.revocationsOf([`sid:${sid}`]).then(([v]) => v !== null && v !== undefined && Number(v) > Date.now())
  }

  /** Reads (or, in an empty store, creates) the store's generation; a new one means its state is gone. */
  async #checkGeneration (): Promise<void> {
    const g = await this.#store.generation(randomBytes(12).toString('base64url'), Date.now())
    const since = Math.floor(g.since / 1000)
    if (this.#generation !== undefined && g.id !== this.#generation) {
      this.#stateLosses++
      this.#log.error(`the store came back without the gateway's state (a new generation began at ${new Date(g.since).toISOString()}): revocations may be lost, so every token issued before then is refused; users must log in again. Run Redis with persistence (README, "Redis").`)
    }
    this.#generation = g.id
    if (since > this.#notBefore) this.#notBefore = since
  }

  #live (field: string): boolean {
    const until = this.#view.get(field)
    return until !== undefined && until > Date.now()
  }

  #apply (message: string): void {
    for (const line of message.split('\n')) {
      const bar = line.lastIndexOf('|')
      if (bar > 0) this.#remember(line.slice(0, bar), line.slice(bar + 1))
    }
  }

  /** Entries are `field` → until (ms); a user's is `usr:<uid>` → `until:notBefore`. */
  #remember (field: string, value: number | string): void {
    const until = typeof value === 'number' ? value : untilOf(value)
    if (until === undefined) return
    if ((this.#view.get(field) ?? 0) < until) this.#view.set(field, until)
    const cut = typeof value === 'string' ? cutOf(value) : undefined
    if (field.startsWith('usr:') && cut !== undefined && (this.#userNotBefore.get(field.slice(4)) ?? 0) < cut) this.#userNotBefore.set(field.slice(4), cut)
  }

  #prune (): void {
    const now = Date.now()
    for (const [field, until] of this.#view) {
      if (until > now) continue
      this.#view.delete(field)
      if (field.startsWith('usr:')) this.#userNotBefore.delete(field.slice(4))
    }
  }
}

/** The `until` of an entry's value (`until`, or `until:notBefore` for a user). */
function untilOf (value: string): number | undefined {
  const n = Number(value.includes(':') ? value.slice(0, value.indexOf(':')) : value)
  return Number.isFinite(n) ? n : undefined
}

/** The not-before of a user's entry (`until:notBefore`). */
function cutOf (value: string): number | undefined {
  const colon = value.indexOf(':')
  const n = colon === -1 ? NaN : Number(value.slice(colon + 1))
  return Number.isFinite(n) ? n : undefined
}
