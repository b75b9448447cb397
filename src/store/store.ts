// The one shared store (docs/architecture.md §1). Every operation the token machinery needs
// is a primitive here, so that the Redis and the in-process implementation can
// be held to one contract (test/store/contract.ts).

export type Unsubscribe = () => Promise<void>

export interface Store {
  readonly kind: 'redis' | 'memory'
  /** Resolves when the store answers; rejects with StoreUnavailable otherwise. */
  ping (): Promise<void>
  get (key: string): Promise<string | null>
  /** ttlMs > 0: the key disappears after that many milliseconds. */
  set (key: string, value: string, ttlMs: number): Promise<void>
  /** Sets only when absent; true when this call created the key. */
  setIfAbsent (key: string, value: string, ttlMs: number): Promise<boolean>
  del (key: string): Promise<boolean>
  /**
   * Atomically reads and deletes a key: of any number of concurrent callers,
   * exactly one receives the value. Refresh-token rotation rests on this.
   */
  take (key: string): Promise<string | null>
  /**
   * Atomically claims a key (refresh-token rotation): returns the value held
   * before the call, or null when absent. When that value does not start with
   * `claimedPrefix`, it is replaced by `marker + value` (TTL ttlMs), so of
   * concurrent callers exactly one sees the unclaimed value.
   */
  claim (key: string, claimedPrefix: string, marker: string, ttlMs: number): Promise<string | null>
  /** Increments a counter, starting its TTL on creation; returns the new value. */
  incr (key: string, ttlMs: number): Promise<number>
  /** Hash fields: small maps under one key (sessions of a user, the revocation list). */
  hset (key: string, field: string, value: string): Promise<void>
  hget (key: string, field: string): Promise<string | null>
  hmget (key: string, fields: readonly string[]): Promise<Array<string | null>>
  hgetall (key: string): Promise<Record<string, string>>
  hdel (key: string, fields: readonly string[]): Promise<number>
  publish (channel: string, message: string): Promise<void>
  /**
   * Messages published on the channel. `onState(false)` when delivery may
   * have been interrupted (connection lost), `onState(true)` once it is
   * resubscribed: messages in between may be lost, so callers resynchronise.
   */
  subscribe (channel: string, onMessage: (message: string) => void, onState?: (up: boolean) => void): Promise<Unsubscribe>
  close (): Promise<void>
}
