import type { FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { KEY_PREFIX, parseKey, type ApiKeyRecord, type ApiKeys } from '../../api-keys/index.js'
import { ApiKeyExpired, ApiKeyInvalid, ApiKeyRevoked, TooManyAttempts } from '../../errors.js'
import type { Throttle } from '../../throttle/index.js'
import type { Revocations } from '../../tokens/revocation.js'
import type { Authenticator } from './authenticator.js'
import type { RequestCredentials } from './credentials.js'
import type { Identity } from './identity.js'

/**
 * API keys, `Bearer wpgk_<id>_<secret>` (README, "API keys"): responsible for
 * every value with that prefix. A key is checked against this replica's view
 * of the catalog, with no round trip to the store; only a failure costs one,
 * to count it (src/throttle).
 *
 * Why counting failures per IP and per key id is enough: the secret holds
 * 256 random bits, so no number of guesses finds one; the throttle is there
 * to turn floods of bad keys away cheaply, and once an address is refused
 * this replica remembers it and answers 429 without even hashing. The key
 * itself is never locked: a key id is no secret, and locking it would let
 * anyone who saw one shut its owner out.
 */
export class ApiKeyAuthenticator implements Authenticator {
  readonly method = 'apikey' as const
  readonly #keys: ApiKeys
  readonly #revocations: Revocations
  readonly #throttle: Throttle
  /** Addresses refused by the throttle: IP → until when (ms). */
  readonly #refused = new LRUCache<string, number>({ max: 10_000 })

  constructor (keys: ApiKeys, revocations: Revocations, throttle: Throttle) {
    this.#keys = keys
    this.#revocations = revocations
    this.#throttle = throttle
  }

  authenticate (request: FastifyRequest, { header }: RequestCredentials): Identity | null | Promise<Identity> {
    if (header?.scheme !== 'bearer' || !header.value.startsWith(KEY_PREFIX)) return null
    const until = this.#refused.get(request.ip)
    if (until !== undefined) {
      const wait = Math.ceil((until - Date.now()) / 1000)
      if (wait > 0) throw new TooManyAttempts(wait)
      this.#refused.delete(request.ip)
    }
    const parsed = parseKey(header.value)
    if (parsed === null) return this.#failed(request, null)
    const record = this.#keys.catalog.get(parsed.id)
    if (record instanceof Promise) return record.then((r) => this.#check(request, r, parsed.id, parsed.secret))
    return this.#check(request, record, parsed.id, parsed.secret)
  }

  #check (request: FastifyRequest, record: ApiKeyRecord | undefined, id: string, secret: string): Identity | Promise<Identity> {
    if (!this.#keys.matches(record, secret)) return this.#failed(request, id)
    // Only the holder of the secret learns that a key expired or was revoked.
    if (record.expiresAt !== null && record.expiresAt <= Date.now()) throw new ApiKeyExpired()
    const cut = this.#revocations.isUserCutOff(String(record.userId), record.verifiedAt)
    if (cut === true) throw new ApiKeyRevoked()
    if (cut !== false) {
      return cut.then((c) => {
        if (c) throw new ApiKeyRevoked()
        return this.#accepted(request, record)
      })
    }
    return this.#accepted(request, record)
  }

  #accepted (request: FastifyRequest, record: ApiKeyRecord): Identity {
    this.#keys.lastUse.touch(record.id, request.ip)
    return {
      userId: String(record.userId),
      login: record.login,
      email: record.email,
      roles: record.roles,
      method: 'apikey',
      via: 'apikey',
      keyId: record.id,
      issuedAt: Math.floor(record.verifiedAt / 1000),
      ...(record.expiresAt === null ? {} : { expiresAt: Math.floor(record.expiresAt / 1000) }),
      // A key with scopes is narrowed: it reaches only routes whose rule names them (src/pipeline/policy.ts).
      ...(record.scopes.length === 0 ? {} : { scopes: record.scopes })
    }
  }

  async #failed (request: FastifyRequest, id: string | null): Promise<never> {
    const wait = await this.#throttle.failed('apikey', id, request.ip)
    if (wait <= 0) throw new ApiKeyInvalid()
    this.#refused.set(request.ip, Date.now() + wait * 1000, { ttl: wait * 1000 })
    throw new TooManyAttempts(wait)
  }
}
