import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { BridgeClient } from '../../bridge/client.js'
import { CookieInvalid } from '../../errors.js'
import { ExpiringCache } from '../../util/expiring-cache.js'
import type { Identity } from './identity.js'

const LOGGED_IN = /(?:^|;\s*)wordpress_logged_in_[0-9a-f]+=/
const CACHE_MS = 10_000

/**
 * WordPress's own logins for REST calls of wp-admin and the block editor: the
 * logged-in cookie plus a `wp_rest` nonce (X-WP-Nonce), as WordPress demands
 * them (rest_cookie_check_errors). The bridge checks both with WordPress's
 * own functions. A cookie without a nonce is no login at all in WordPress,
 * and none here. Answers are remembered for 10 s, so the editor's bursts of
 * requests do not each cost a call to WordPress.
 */
export class WordPressCookieAuthenticator {
  readonly #bridge: BridgeClient
  readonly #cache = new ExpiringCache<Identity>()

  constructor (bridge: BridgeClient) {
    this.#bridge = bridge
  }

  async authenticate (request: FastifyRequest): Promise<Identity | null> {
    const cookie = request.headers.cookie
    const nonce = request.headers['x-wp-nonce']
    if (cookie === undefined || typeof nonce !== 'string' || !LOGGED_IN.test(cookie)) return null
    const key = createHash('sha256').update(cookie).update('\0').update(nonce).digest('base64url')
    const hit = this.#cache.get(key)
    if (hit !== undefined) return hit
    const user = await this.#bridge.checkCookie(cookie, nonce)
    if (user === null) throw new CookieInvalid()
    const identity: Identity = { userId: String(user.id), login: user.login, email: user.email, roles: user.roles, via: 'cookie' }
    this.#cache.set(key, identity, Date.now() + CACHE_MS)
    return identity
  }
}
