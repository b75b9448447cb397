import { Redis } from 'ioredis'
import { StoreUnavailable } from '../errors.js'
import type { Store, Unsubscribe } from './store.js'

export interface RedisStoreOptions {
  url: string
  /** Longest a command may take before the caller is told the store is unavailable. */
  commandTimeoutMs?: number
  keyPrefix?: string
}

const INCR_WITH_TTL = `local v = redis.call('INCR', KEYS[1])
if v == 1 and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`

// GET, then prefix the value with the marker unless already claimed: one
// script, so Redis runs it without interleaving another caller.
const CLAIM = `local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2] .. v, 'PX', ARGV[3])
end
return v`

/**
 * Redis through ioredis. Commands are never queued while disconnected and
 * each has a timeout, so callers fail closed fast instead of hanging
 * (docs/architecture.md §6: 503, never open).
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const
  readonly #client: Redis
  readonly #prefix: string
  #subscriber: Redis | undefined
  readonly #handlers = new Map<string, Set<(message: string) => void>>()
  readonly #stateListeners = new Set<(up: boolean) => void>()
  #lastError: Error | undefined

  constructor (opts: RedisStoreOptions) {
    this.#prefix = opts.keyPrefix ?? 'wpag:'
    this.#client = new Redis(opts.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
      connectTimeout: 2000,
      // Back off to at most half a second: a store that is back is used again at once.
      retryStrategy: (times) => Math.min(times * 50, 500)
    })
    // Connection errors surface through failed commands; the last one is kept
    // because it says why (ECONNREFUSED, NOAUTH...) where the command only says "closed".
    this.#client.on('error', (err: Error) => { this.#lastError = err })
  }

  async connect (): Promise<void> {
    try {
      await this.#client.connect()
    } catch (err) {
      throw new StoreUnavailable({ cause: this.#lastError ?? err })
    }
  }

  async ping (): Promise<void> {
    await this.#guard(() => this.#client.ping())
  }

  async get (key: string): Promise<string | null> {
    return await this.#guard(() => this.#client.get(this.#prefix + key))
  }

  async set (key: string, value: string, ttlMs: number): Promise<void> {
    await this.#guard(() => ttlMs > 0
      ? this.#client.set(this.#prefix + key, value, 'PX', ttlMs)
      : this.#client.set(this.#prefix + key, value))
  }

  async setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean> {
    const res = await this.#guard(() => ttlMs > 0
      ? this.#client.set(this.#prefix + key, value, 'PX', ttlMs, 'NX')
      : this.#client.set(this.#prefix + key, value, 'NX'))
    return res === 'OK'
  }

  async del (key: string): Promise<boolean> {
    return (await this.#guard(() => this.#client.del(this.#prefix + key))) > 0
  }

  async take (key: string): Promise<string | null> {
    // GETDEL is one command, so Redis serialises concurrent callers (Redis >= 6.2).
    return await this.#guard(() => this.#client.getdel(this.#prefix + key))
  }

  async claim (key: string, claimedPrefix: string, marker: string, ttlMs: number): Promise<string | null> {
    const v = await this.#guard(() => this.#client.eval(CLAIM, 1, this.#prefix + key, claimedPrefix, marker, String(Math.max(1, Math.round(ttlMs)))))
    return typeof v === 'string' ? v : null
  }

  async hset (key: string, field: string, value: string): Promise<void> {
    await this.#guard(() => this.#client.hset(this.#prefix + key, field, value))
  }

  async hget (key: string, field: string): Promise<string | null> {
    return await this.#guard(() => this.#client.hget(this.#prefix + key, field))
  }

  async hmget (key: string, fields: readonly string[]): Promise<Array<string | null>> {
    if (fields.length === 0) return []
    return await this.#guard(() => this.#client.hmget(this.#prefix + key, ...fields))
  }

  async hgetall (key: string): Promise<Record<string, string>> {
    return await this.#guard(() => this.#client.hgetall(this.#prefix + key))
  }

  async hdel (key: string, fields: readonly string[]): Promise<number> {
    if (fields.length === 0) return 0
    return await this.#guard(() => this.#client.hdel(this.#prefix + key, ...fields))
  }

  async incr (key: string, ttlMs: number): Promise<number> {
    return Number(await this.#guard(() => this.#client.eval(INCR_WITH_TTL, 1, this.#prefix + key, String(ttlMs))))
  }

  async publish (channel: string, message: string): Promise<void> {
    await this.#guard(() => this.#client.publish(this.#prefix + channel, message))
  }

  async subscribe (channel: string, onMessage: (message: string) => void, onState?: (up: boolean) => void): Promise<Unsubscribe> {
    const sub = await this.#subscriberConnection()
    const full = this.#prefix + channel
    let set = this.#handlers.get(full)
    if (set === undefined) {
      this.#handlers.set(full, set = new Set())
      await this.#guard(() => sub.subscribe(full))
    }
    set.add(onMessage)
    if (onState !== undefined) {
      this.#stateListeners.add(onState)
      onState(sub.status === 'ready')
    }
    return async () => {
      set.delete(onMessage)
      if (onState !== undefined) this.#stateListeners.delete(onState)
      if (set.size === 0) {
        this.#handlers.delete(full)
        // While disconnected there is nothing to unsubscribe from, and a queued
        // command would wait for a Redis that may never come back.
        if (sub.status === 'ready') await sub.unsubscribe(full).catch(() => {})
      }
    }
  }

  async close (): Promise<void> {
    this.#subscriber?.disconnect()
    this.#client.disconnect()
  }

  async #subscriberConnection (): Promise<Redis> {
    if (this.#subscriber !== undefined) return this.#subscriber
    const sub = this.#client.duplicate({ enableOfflineQueue: true, commandTimeout: undefined, autoResubscribe: false })
    sub.on('error', () => {})
    sub.on('message', (channel: string, message: string) => {
      for (const fn of this.#handlers.get(channel) ?? []) fn(message)
    })
    // After a reconnect, 'up' is reported only once Redis has confirmed the
    // resubscription, so a caller's resync cannot miss a message in between.
    let wasDown = false
    sub.on('close', () => {
      wasDown = true
      for (const fn of this.#stateListeners) fn(false)
    })
    sub.on('ready', () => {
      if (!wasDown) return
      const channels = [...this.#handlers.keys()]
      const resubscribed = channels.length > 0 ? sub.subscribe(...channels) : Promise.resolve()
      resubscribed.then(() => {
        wasDown = false
        for (const fn of this.#stateListeners) fn(true)
      }, () => {})
    })
    this.#subscriber = sub
    await this.#guard(() => sub.connect())
    return sub
  }

  async #guard<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw new StoreUnavailable({ cause: err })
    }
  }
}
