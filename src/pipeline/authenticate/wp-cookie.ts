import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import type { BridgeClient } from '../../bridge/client.js'
import type { Revocations } from '../../tokens/revocation.js'
import { CookieInvalid } from '../../errors.js'
import { ExpiringCache } from '../../util/expiring-cache.js'
import type { Authenticator } from './authenticator.js'
import type { RequestCredentials } from './credentials.js'
import type { Identity } from './identity.js'

const LOGGED_IN = /(?:^|;\s*)wordpress_logged_in_[0-9a-f]+=/
const CACHE_MS = 10_000

/**
 * WordPress's own logins for REST calls of wp-admin and the block editor: the
 * logged-in cookie plus a `wp_rest` nonce (X-WP-Nonce), as WordPress demands
 * them (rest_cookie_check_errors). Responsible only where no credential
 * header is sent. The bridge checks both with WordPress's own functions. A
 * cookie without a nonce is no login at all in WordPress, and none here.
 * Answers are remembered for 10 s, so the editor's bursts of requests do not
 * each cost a call to WordPress.
 */
export class WordPressCookieAuthenticator implements Authenticator {
  readonly method = 'cookie' as const
  readonly #bridge: BridgeClient
  readonly #revocations: Revocations
  readonly #cache = new ExpiringCache<{ identity: Identity, at: number }>()

  constructor (bridge: BridgeClient, revocations: Revocations) {
    this.#bridge = bridge
    this.#revocations = revocations
  }

  authenticate (request: FastifyRequest, { header }: RequestCredentials): Identity | null | Promise<Identity> {
    const cookie = request.headers.cookie
    const nonce = request.headers['x-wp-nonce']
    if (header !== null || cookie === undefined || typeof nonce !== 'string' || !LOGGED_IN.test(cookie)) return null
    const key = createHash('sha256').update(cookie).update('\0').update(nonce).digest('base64url')
    const hit = this.#cache.get(key)
    // A remembered answer is good until the user is cut off (a logout, a password change).
    if (hit !== undefined && this.#revocations.isUserCutOff(hit.identity.userId, hit.at) === false) return hit.identity
    return this.#bridge.checkCookie(cookie, nonce).then((user) => {
      if (user === null) throw new CookieInvalid()
      const at = Date.now()
      const identity: Identity = { userId: String(user.id), login: user.login, email: user.email, roles: user.roles, method: 'cookie', via: 'cookie', issuedAt: Math.floor(at / 1000) }
      this.#cache.set(key, { identity, at }, at + CACHE_MS)
      return identity
    })
  }
}
