/**
 * A bounded map whose entries expire: for answers worth remembering briefly
 * on a hot path (verified cookies, signed assertions). When full it starts
 * over rather than tracking recency: the entries are cheap to recompute.
 */
export class ExpiringCache<V> {
  readonly #entries = new Map<string, { value: V, until: number }>()
  readonly #max: number

  constructor (max = 10_000) {
    this.#max = max
  }

  get (key: string, now = Date.now()): V | undefined {
    const hit = this.#entries.get(key)
    return hit !== undefined && hit.until > now ? hit.value : undefined
  }

  set (key: string, value: V, until: number): void {
    if (this.#entries.size >= this.#max) this.#entries.clear()
    this.#entries.set(key, { value, until })
  }
}
