import type { Redis } from 'ioredis'

export interface SubscriberOptions {
  /** A new, not yet connected client; `attempt` lets a Cluster subscriber move on to another node. */
  connect: (attempt: number) => Redis
  channel: string
  onMessage: (message: string) => void
  /** false when messages may have been missed; true once resubscribed (the caller then resynchronises). */
  onState: (up: boolean) => void
}

/**
 * One pub/sub subscription that keeps itself alive: on any loss it reports
 * "down", connects anew (through Sentinel to the current master, or to the
 * next Cluster node) with a short back-off, resubscribes, and reports "up"
 * only once Redis has confirmed the subscription, so that a resync after it
 * cannot miss a message published in between.
 */
export class Subscriber {
  readonly #opts: SubscriberOptions
  #client: Redis | undefined
  #attempt = 0
  #stopped = false
  #timer: NodeJS.Timeout | undefined

  constructor (opts: SubscriberOptions) {
    this.#opts = opts
  }

  /** Resolves once subscribed the first time; rejects when that fails (the store is unavailable). */
  async start (): Promise<void> {
    await this.#open()
  }

  async stop (): Promise<void> {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#client?.disconnect()
  }

  async #open (): Promise<void> {
    const client = this.#opts.connect(this.#attempt)
    this.#client = client
    client.on('error', () => {}) // reported through 'end' below; connection errors are the store's business
    client.on('message', (_channel: string, message: string) => { if (!this.#stopped) this.#opts.onMessage(message) })
    let up = false
    client.once('end', () => {
      if (up) this.#opts.onState(false)
      if (this.#stopped) return
      this.#attempt++
      this.#timer = setTimeout(() => { void this.#open().catch(() => {}) }, Math.min(this.#attempt * 50, 500))
    })
    try {
      await client.connect()
      await client.subscribe(this.#opts.channel)
    } catch (err) {
      client.disconnect()
      throw err
    }
    up = true
    this.#attempt = 0
    this.#opts.onState(true)
  }
}
