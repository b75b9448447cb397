import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import type { RateLimit } from '../config/schema.js'
import { RateLimited } from '../errors.js'
import type { Identity } from '../pipeline/authenticate/index.js'
import type { Store } from '../store/index.js'
import { RedisStore } from '../store/redis/index.js'

/**
 * Request rate limits of single rules (`rateLimit: {max, windowSeconds, by}`),
 * for routes like search or comments; only routes with one pay a counter.
 * The counts are shared by every replica in Redis (rate-limiter-flexible).
 * Once a caller is over the limit, this replica refuses it from memory until
 * the window ends (inMemoryBlockOnConsumed), so a flood costs no round trips.
 * Unlike the throttle on secrets, a Redis that cannot count does not refuse
 * the request: each replica counts alone in memory meanwhile (the insurance
 * limiter), since what is protected is WordPress's load, not a secret.
 */
export class RateLimits {
  readonly #store: Store
  readonly #limiters = new Map<number, RateLimiterAbstract>()

  constructor (store: Store) {
    this.#store = store
  }

  async consume (limit: RateLimit & { rule: number }, identity: Identity | null, ip: string): Promise<void> {
    try {
      await this.#limiter(limit).consume(callerOf(limit.by, identity, ip))
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimited(Math.ceil(err.msBeforeNext / 1000))
      throw err
    }
  }

  #limiter ({ rule, max, windowSeconds }: RateLimit & { rule: number }): RateLimiterAbstract {
    let limiter = this.#limiters.get(rule)
    if (limiter === undefined) {
      const store = this.#store
      const keyPrefix = `ratelimit:${rule}`
      const memory = new RateLimiterMemory({ keyPrefix, points: max, duration: windowSeconds })
      limiter = store instanceof RedisStore
        ? new RateLimiterRedis({ storeClient: store.client, keyPrefix: `${store.keyPrefix}${keyPrefix}`, points: max, duration: windowSeconds, inMemoryBlockOnConsumed: max, insuranceLimiter: memory, rejectIfRedisNotReady: true })
        : memory
      this.#limiters.set(rule, limiter)
    }
    return limiter
  }
}

/** Who a request is counted against: anonymous callers by IP, whatever `by` says. */
function callerOf (by: RateLimit['by'], identity: Identity | null, ip: string): string {
  if (by === 'key' && identity?.keyId !== undefined) return `key:${identity.keyId}`
  if (by === 'key' && identity?.clientId !== undefined) return `client:${identity.clientId}`
  if (by !== 'ip' && identity !== null) return `user:${identity.userId}`
  return `ip:${ip}`
}
