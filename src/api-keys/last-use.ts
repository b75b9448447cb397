import type { FastifyBaseLogger } from 'fastify'
import type { Catalog } from '../store/catalog.js'

export interface Use { at: number, ip: string }

type Notes = Pick<Catalog<unknown>, 'setNotes' | 'notes'>

const FLUSH_INTERVAL_MS = 5000

/**
 * When and from where each key was last used. Noted in memory on every use
 * and written behind, in one batch every few seconds and on close, to the
 * catalog's notes: a request never waits on the store for it. A flush that
 * fails keeps its uses for the next one.
 */
export class LastUse {
  readonly #catalog: Notes
  readonly #log: FastifyBaseLogger
  #pending = new Map<string, Use>()
  #timer: NodeJS.Timeout | undefined

  constructor (catalog: Notes, log: FastifyBaseLogger) {
    this.#catalog = catalog
    this.#log = log
  }

  start (): void {
    this.#timer = setInterval(() => { void this.flush() }, FLUSH_INTERVAL_MS)
    this.#timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.#timer)
    await this.flush()
  }

  touch (id: string, ip: string): void {
    this.#pending.set(id, { at: Date.now(), ip })
  }

  async flush (): Promise<void> {
    if (this.#pending.size === 0) return
    const batch = this.#pending
    this.#pending = new Map()
    try {
      await this.#catalog.setNotes([...batch].map(([id, use]) => [id, JSON.stringify(use)] as const))
    } catch (err) {
      for (const [id, use] of batch) if (!this.#pending.has(id)) this.#pending.set(id, use)
      this.#log.warn({ err }, 'the last use of API keys could not be written; will retry')
    }
  }

  /** The last use of each key: the later of this replica's unwritten one and what the store holds (another's). */
  async of (ids: readonly string[]): Promise<Map<string, Use>> {
    const stored = await this.#catalog.notes(ids)
    const uses = new Map<string, Use>()
    ids.forEach((id, i) => {
      const mine = this.#pending.get(id)
      const theirs = parseUse(stored[i])
      const use = mine === undefined || (theirs !== undefined && theirs.at > mine.at) ? theirs : mine
      if (use !== undefined) uses.set(id, use)
    })
    return uses
  }
}

function parseUse (raw: string | null | undefined): Use | undefined {
  if (raw === null || raw === undefined) return undefined
  try {
    const v = JSON.parse(raw) as Partial<Use>
    return typeof v.at === 'number' && typeof v.ip === 'string' ? { at: v.at, ip: v.ip } : undefined
  } catch {
    return undefined
  }
}
