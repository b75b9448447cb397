import type { FastifyInstance } from 'fastify'
import { LRUCache } from 'lru-cache'
import { InvalidCredentials, TooManyAttempts } from '../errors.js'
import type { BridgeClient, WordPressUser } from '../bridge/client.js'
import { keyedHash } from '../util/keyed-hash.js'
import type { Throttle } from './index.js'

declare module 'fastify' {
  interface FastifyInstance {
    passwords: Passwords
  }
}

/**
 * WordPress passwords (a login or email with an account password, or an
 * Application Password over Basic), checked by WordPress and throttled per
 * account and per IP (src/throttle). Every path that takes a user's password
 * goes through here: the token endpoint, Basic, the OAuth password grant.
 *
 * An account is what WordPress says the login names (the bridge answers it
 * with every check, right or wrong), so attempts at a login and at its email
 * address count as one, and an unknown login counts like a known one. Before
 * WordPress is asked, the account is known only if this replica has seen the
 * login before; so it is checked again after WordPress answers, and an
 * account past its limit is refused (429) whether the password was right or
 * wrong: guesses past the limit learn nothing.
 */
export class Passwords {
  readonly #bridge: BridgeClient
  readonly #throttle: Throttle
  readonly #hashKey: Buffer
  /** Login as given, trimmed and lower-cased (WordPress matches both without regard to case) → account. */
  readonly #accounts = new LRUCache<string, string>({ max: 50_000 })
  /** Accounts this replica has seen past their limit → until when (ms); read without I/O by the Basic cache. */
  readonly #refused = new LRUCache<string, number>({ max: 50_000, ttlAutopurge: false })

  constructor (bridge: BridgeClient, throttle: Throttle, hashKey: Buffer) {
    this.#bridge = bridge
    this.#throttle = throttle
    this.#hashKey = hashKey
  }

  async check (login: string, password: string, ip: string, opts: { appPasswords?: boolean } = {}): Promise<WordPressUser & { account: string }> {
    const identifier = login.trim().toLowerCase()
    const known = this.#accounts.get(identifier)
    await this.#checkThrottle(known ?? null, ip)
    const { user, account } = await this.#bridge.authenticate(login, password, opts.appPasswords === true)
    this.#accounts.set(identifier, account)
    if (user === null) {
      const wait = await this.#throttle.failed('login', this.#key(account), ip)
      if (wait > 0) throw this.#refuse(account, wait)
      throw new InvalidCredentials()
    }
    if (account !== known) await this.#checkThrottle(account, ip)
    await this.#throttle.succeeded('login', this.#key(account))
    this.#refused.delete(account)
    return { ...user, account }
  }

  /**
   * Before another secret of an account is tried (a password reset key, a
   * registration): refused (429) while the account (null: not known) or the
   * IP has failed too often. The same counts as passwords: a key is one more
   * way in to the same account.
   */
  async checkAttempt (account: string | null, ip: string): Promise<void> {
    await this.#checkThrottle(account, ip)
  }

  /** That secret did not open the account (null: no account, the IP alone): counted like a wrong password; 429 once at the limit. */
  async failedAttempt (account: string | null, ip: string): Promise<void> {
    const wait = await this.#throttle.failed('login', account === null ? null : this.#key(account), ip)
    if (wait > 0) throw account === null ? new TooManyAttempts(wait) : this.#refuse(account, wait)
  }

  /** It did: the account starts afresh, as after a right password. */
  async succeededAttempt (account: string): Promise<void> {
    await this.#throttle.succeeded('login', this.#key(account))
    this.#refused.delete(account)
  }

  /**
   * Seconds this replica knows the account to be refused for (0: not known to
   * be). For answers that skip WordPress (the Basic cache): they must not
   * say "right password" while guesses at the account are being refused.
   */
  refusedFor (account: string): number {
    const until = this.#refused.get(account)
    if (until === undefined) return 0
    const wait = Math.ceil((until - Date.now()) / 1000)
    if (wait <= 0) this.#refused.delete(account)
    return Math.max(0, wait)
  }

  async #checkThrottle (account: string | null, ip: string): Promise<void> {
    try {
      await this.#throttle.check('login', account === null ? null : this.#key(account), ip)
    } catch (err) {
      if (account !== null && err instanceof TooManyAttempts) this.#refuse(account, err.retryAfter)
      throw err
    }
  }

  #refuse (account: string, seconds: number): Error {
    this.#refused.set(account, Date.now() + seconds * 1000)
    return new TooManyAttempts(seconds)
  }

  /** Logins stay out of Redis's keys: the account's counter is named by a keyed hash of it. */
  #key (account: string): string {
    return keyedHash(this.#hashKey, 'account', account)
  }
}

/** The one throttled password check (see Passwords), for route handlers. */
export async function checkPassword (app: FastifyInstance, login: string, password: string, ip: string): Promise<WordPressUser> {
  const { account: _account, ...user } = await app.passwords.check(login, password, ip)
  return user
}
