// The one shared store (DESIGN §1). Every operation the token machinery needs
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
  /** Increments a counter, starting its TTL on creation; returns the new value. */
  incr (key: string, ttlMs: number): Promise<number>
  publish (channel: string, message: string): Promise<void>
  subscribe (channel: string, onMessage: (message: string) => void): Promise<Unsubscribe>
  close (): Promise<void>
}
