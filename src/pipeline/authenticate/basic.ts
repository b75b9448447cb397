import type { FastifyRequest } from 'fastify'
import { LRUCache } from 'lru-cache'
import { BasicMalformed, InvalidCredentials, TlsRequired, TooManyAttempts, withBasicChallenge } from '../../errors.js'
import type { Passwords } from '../../throttle/password.js'
import type { Revocations } from '../../tokens/revocation.js'
import type { UserChanges } from '../../tokens/user-changes.js'
import { keyedHash } from '../../util/keyed-hash.js'
import type { Authenticator } from './authenticator.js'
import type { RequestCredentials } from './credentials.js'
import type { Identity } from './identity.js'

/** OAuth clients sign in with Basic too (RFC 6749 §2.3.1): `client_id:client_secret`. */
export interface ClientAuthenticator {
  /** The cheap test: is this Basic user-id a client's id? */
  isClientId (value: string): boolean
  authenticateClient (clientId: string, secret: string, ip: string): Promise<Identity>
}

export interface BasicSettings {
  requireTls: boolean
  cacheSeconds: number
}

interface Verified {
  identity: Identity
  account: string
  /** When WordPress was asked (ms): a cut-off of the user after it ends the entry. */
  verifiedAt: number
}

// The RFC 7617 user-pass, base64 with its padding, as clients send it.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
// RFC 7617 §2: neither part may hold control characters.
const CONTROL = /[\u0000-\u001f\u007f]/ // eslint-disable-line no-control-regex
const utf8 = new TextDecoder('utf-8', { fatal: true })

/** `Authorization: Basic base64(user-id:password)`, strictly: anything else is malformed, never guessed at. */
export function decodeBasic (value: string): { userId: string, password: string } {
  if (value === '' || value.length > 8192 || !BASE64.test(value)) throw withBasicChallenge(new BasicMalformed())
  let text: string
  try {
    text = utf8.decode(Buffer.from(value, 'base64'))
  } catch {
    throw withBasicChallenge(new BasicMalformed())
  }
  const colon = text.indexOf(':')
  const userId = text.slice(0, colon)
  const password = text.slice(colon + 1)
  if (colon < 1 || password === '' || userId.length > 256 || password.length > 4096 || CONTROL.test(text)) throw withBasicChallenge(new BasicMalformed())
  return { userId, password }
}

/**
 * Basic credentials on any REST route (issue 11 §2): a WordPress login or
 * email with the account password or an Application Password, checked by
 * WordPress's own wp_authenticate() through the bridge and throttled like
 * every password (src/throttle/password.ts); or an OAuth client's id and
 * secret.
 *
 * WordPress hashes cost milliseconds a call, and Basic sends the password
 * with every request, so a verification is remembered for
 * `auth.basic.cacheSeconds` under a keyed hash of the credentials (never the
 * password). An entry is no longer trusted once the user has a cut-off after
 * it (a password, role or deletion event, a logout everywhere: every
 * replica sees it at once), nor while this replica is refusing guesses at the
 * account, so that a cached right answer cannot serve as an oracle past the
 * throttle.
 */
export class BasicAuthenticator implements Authenticator {
  readonly method = 'basic' as const
  readonly #passwords: Passwords
  readonly #revocations: Revocations
  readonly #hashKey: Buffer
  readonly #settings: BasicSettings
  readonly #clients: ClientAuthenticator | undefined
  readonly #cache: LRUCache<string, Verified> | null
  /** Verifications under way, so that a burst of requests with one credential asks WordPress once. */
  readonly #pending = new Map<string, Promise<Verified>>()

  constructor (passwords: Passwords, revocations: Revocations, userChanges: UserChanges, hashKey: Buffer, settings: BasicSettings, clients?: ClientAuthenticator) {
    this.#passwords = passwords
    this.#revocations = revocations
    this.#hashKey = hashKey
    this.#settings = settings
    this.#clients = clients
    this.#cache = settings.cacheSeconds > 0 ? new LRUCache({ max: 10_000, ttl: settings.cacheSeconds * 1000 }) : null
    // The cut-off already refuses these entries on every replica; dropping them here frees them at once.
    userChanges.on(async (uid) => { this.forgetUser(uid) })
  }

  authenticate (request: FastifyRequest, { header }: RequestCredentials): Identity | null | Promise<Identity> {
    if (header?.scheme !== 'basic') return null
    // Behind a TLS terminator, server.trustProxy lets X-Forwarded-Proto say https.
    if (this.#settings.requireTls && request.protocol !== 'https') throw new TlsRequired()
    if (header.value.length > 8192) throw withBasicChallenge(new BasicMalformed())
    // A remembered credential was read in full when it was first verified: the lookup comes first.
    const key = keyedHash(this.#hashKey, 'basic', header.value)
    const hit = this.#cache?.get(key)
    if (hit !== undefined) {
      const wait = this.#passwords.refusedFor(hit.account)
      if (wait > 0) throw new TooManyAttempts(wait)
      const cut = this.#revocations.isUserCutOff(hit.identity.userId, hit.verifiedAt)
      if (cut === false) return hit.identity
      if (cut === true) return this.#reverify(key, header.value, request.ip)
      return Promise.resolve(cut).then((isCut) => isCut ? this.#reverify(key, header.value, request.ip) : hit.identity)
    }
    const { userId, password } = decodeBasic(header.value)
    if (this.#clients?.isClientId(userId) === true) return this.#clients.authenticateClient(userId, password, request.ip).catch(challenge)
    return this.#verify(key, userId, password, request.ip)
  }

  /** Drops what is remembered of a user's credentials. */
  forgetUser (uid: number): void {
    if (this.#cache === null) return
    const id = String(uid)
    for (const [key, entry] of this.#cache.entries()) if (entry.identity.userId === id) this.#cache.delete(key)
  }

  /** A remembered login whose user has changed since: WordPress is asked again. */
  async #reverify (key: string, value: string, ip: string): Promise<Identity> {
    const { userId, password } = decodeBasic(value)
    return await this.#verify(key, userId, password, ip)
  }

  async #verify (key: string, login: string, password: string, ip: string): Promise<Identity> {
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      pending = this.#ask(key, login, password, ip).finally(() => this.#pending.delete(key))
      this.#pending.set(key, pending)
    }
    return (await pending.catch(challenge)).identity
  }

  async #ask (key: string, login: string, password: string, ip: string): Promise<Verified> {
    const verifiedAt = Date.now()
    this.#cache?.delete(key)
    const user = await this.#passwords.check(login, password, ip, { appPasswords: true })
    const entry: Verified = {
      identity: {
        userId: String(user.id),
        login: user.login,
        email: user.email,
        roles: user.roles,
        method: 'basic',
        via: 'basic',
        issuedAt: Math.floor(verifiedAt / 1000)
      },
      account: user.account,
      verifiedAt
    }
    this.#cache?.set(key, entry)
    return entry
  }
}

/** A 401 for Basic credentials challenges for Basic (RFC 7617 §2), not Bearer. */
function challenge (err: unknown): never {
  throw err instanceof InvalidCredentials || err instanceof BasicMalformed ? withBasicChallenge(err) : err
}
