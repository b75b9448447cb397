import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { verify as argon2Verify } from '@node-rs/argon2'
import { Forbidden } from '../errors.js'
import type { Authenticator } from '../pipeline/authenticate/authenticator.js'
import type { RequestCredentials } from '../pipeline/authenticate/credentials.js'
import type { Identity } from '../pipeline/authenticate/identity.js'
import type { Throttle } from '../throttle/index.js'

export const ADMIN_TOKEN_PREFIX = 'wpag_admin_'

/**
 * The admin API token (`Bearer wpag_admin_…`), on admin routes only. Its
 * argon2id hash is in the config; the token itself is never stored. argon2 is
 * slow on purpose: a token once verified is remembered by its SHA-256, and
 * failures are throttled per IP.
 */
export class AdminTokenAuthenticator implements Authenticator {
  readonly method = 'admintoken' as const
  readonly #hash: string | undefined
  readonly #throttle: Throttle
  readonly #verified = new Set<string>()
  readonly #prefix: string
  readonly #login: string

  /** `prefix`, `login`: another token of the same kind (the metrics token, src/metrics/guard.ts). */
  constructor (hash: string | undefined, throttle: Throttle, prefix = ADMIN_TOKEN_PREFIX, login = 'admin-api-token') {
    this.#hash = hash
    this.#throttle = throttle
    this.#prefix = prefix
    this.#login = login
  }

  async authenticate (request: FastifyRequest, { header }: RequestCredentials): Promise<Identity | null> {
    if (header?.scheme !== 'bearer' || !header.value.startsWith(this.#prefix)) return null
    const digest = createHash('sha256').update(header.value).digest('base64url')
    if (!this.#verified.has(digest)) {
      await this.#throttle.check('admin', null, request.ip)
      if (this.#hash === undefined || !await argon2Verify(this.#hash, header.value).catch(() => false)) {
        await this.#throttle.failed('admin', null, request.ip)
        throw new Forbidden()
      }
      this.#verified.add(digest)
    }
    return { userId: '0', login: this.#login, email: '', roles: [], method: 'admintoken', via: 'gateway' }
  }
}
