import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible'
import { StoreUnavailable, TooManyAttempts } from '../errors.js'
import type { Store } from '../store/index.js'
import { RedisStore } from '../store/redis/index.js'

// Brute-force throttling on every path that takes a secret (issue 11 §5):
// failed attempts are counted per account and per client IP, in Redis so
// that every replica shares them (rate-limiter-flexible). Past a limit the
// answer is 429 GW_ERR_TOO_MANY_ATTEMPTS with Retry-After, the same for
// known and unknown accounts; a success resets its account's count. When the
// store cannot count, the attempt is refused (503): secrets are never
// checked unthrottled.

export type ThrottleScope = 'login' | 'client' | 'apikey' | 'admin' | 'mail'

export interface Window { attempts: number, seconds: number }
export interface ThrottleSettings { account: Window, ip: Window }

export class Throttle {
  readonly #account: RateLimiterAbstract
  readonly #ip: RateLimiterAbstract
  readonly #settings: ThrottleSettings
  /** Told of every attempt refused for having failed too often (metrics). */
  onThrottled: ((scope: ThrottleScope) => void) | undefined

  constructor (store: Store, settings: ThrottleSettings, keyPrefix = 'wpag:') {
    this.#settings = settings
    const make = (name: string, w: Window) => store instanceof RedisStore
      ? new RateLimiterRedis({ storeClient: store.client, keyPrefix: `${store.keyPrefix}throttle:${name}`, points: w.attempts, duration: w.seconds, rejectIfRedisNotReady: true })
      : new RateLimiterMemory({ keyPrefix: `${keyPrefix}throttle:${name}`, points: w.attempts, duration: w.seconds })
    this.#account = make('account', settings.account)
    this.#ip = make('ip', settings.ip)
  }

  /** Before a secret is checked: refused (429) while the account or the IP (null: not counted) has failed too often. */
  async check (scope: ThrottleScope, account: string | null, ip: string | null): Promise<void> {
    const [byIp, byAccount] = await this.#run(() => Promise.all([
      ip === null ? null : this.#ip.get(`${scope}:${ip}`),
      account === null ? null : this.#account.get(`${scope}:${account}`)
    ]))
    const wait = this.#refusedFor(byIp, byAccount)
    if (wait > 0) {
      this.onThrottled?.(scope)
      throw new TooManyAttempts(wait)
    }
  }

  /**
   * A secret that did not verify: one more against the account and the IP.
   * Returns for how many seconds they are now refused (0: not yet).
   */
  async failed (scope: ThrottleScope, account: string | null, ip: string | null): Promise<number> {
    const [byIp, byAccount] = await this.#run(() => Promise.all([
      ip === null ? null : this.#ip.penalty(`${scope}:${ip}`, 1),
      account === null ? null : this.#account.penalty(`${scope}:${account}`, 1)
    ]))
    const wait = this.#refusedFor(byIp, byAccount)
    if (wait > 0) this.onThrottled?.(scope)
    return wait
  }

  /** Seconds until neither count is at its limit any more (0: neither is). */
  #refusedFor (byIp: RateLimiterRes | null, byAccount: RateLimiterRes | null): number {
    const over = (res: RateLimiterRes | null, limit: number) => res !== null && res.consumedPoints >= limit ? Math.ceil(res.msBeforeNext / 1000) : 0
    return Math.max(over(byIp, this.#settings.ip.attempts), over(byAccount, this.#settings.account.attempts))
  }

  /** A secret that verified: the account starts afresh (the IP's count stays). */
  async succeeded (scope: ThrottleScope, account: string): Promise<void> {
    await this.#run(() => this.#account.delete(`${scope}:${account}`))
  }

  async #run<T> (fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      // rate-limiter-flexible rejects with a RateLimiterRes when over a limit, with an Error when the store fails.
      if (err instanceof RateLimiterRes) throw new TooManyAttempts(Math.ceil(err.msBeforeNext / 1000))
      throw err instanceof StoreUnavailable ? err : new StoreUnavailable({ cause: err })
    }
  }
}
