import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyBaseLogger } from 'fastify'
import { ClientInvalid, TooManyAttempts, withBasicChallenge } from '../errors.js'
import { Catalog } from '../store/catalog.js'
import type { Store } from '../store/index.js'
import type { BridgeClient, WordPressUser } from '../bridge/client.js'
import type { Revocations } from '../tokens/revocation.js'
import type { Throttle } from '../throttle/index.js'
import type { Identity } from '../pipeline/authenticate/identity.js'
import { keyedHash } from '../util/keyed-hash.js'
import { CLIENT_ID, CLIENT_ID_PREFIX, parse, snapshot, type ClientRecord, type GrantType } from './record.js'

// OAuth 2.0 clients (issue 11 §4): each acts as a WordPress service user,
// narrowed to its scopes. Kept in a catalog, so every replica checks a
// client's secret from memory; secrets are stored only as keyed hashes.

export interface NewClient { name: string, user: WordPressUser, grantTypes: readonly GrantType[], scopes: readonly string[] }

export interface OAuthClientsDeps {
  store: Store
  log: FastifyBaseLogger
  bridge: BridgeClient
  revocations: Revocations
  throttle: Throttle
  hashSecret: Buffer
  graceSeconds: number
  /** How long a deleted client's cut-off must live: as long as any token issued to it could be presented. */
  tokenLifetimeMs: () => number
}

/** The cheap test the Basic authenticator makes first: a user name with this prefix is a client, never a WordPress login. */
export const isClientId = (value: string): boolean => value.startsWith(CLIENT_ID_PREFIX)

export class OAuthClients {
  readonly catalog: Catalog<ClientRecord>
  readonly #d: OAuthClientsDeps

  constructor (deps: OAuthClientsDeps) {
    this.#d = deps
    this.catalog = new Catalog(deps.store, 'clients', deps.log, parse)
  }

  isClientId (value: string): boolean { return isClientId(value) }

  async create (c: NewClient): Promise<{ record: ClientRecord, secret: string }> {
    const secret = newSecret()
    const now = Date.now()
    const record: ClientRecord = {
      client_id: CLIENT_ID_PREFIX + randomBytes(12).toString('hex'),
      name: c.name,
      user_id: c.user.id,
      user: snapshot(c.user),
      verified_at: now,
      grant_types: [...c.grantTypes],
      scopes: [...c.scopes],
      created_at: now,
      secret_hash: this.#hash(secret)
    }
    await this.catalog.put(record.client_id, record)
    return { record, secret }
  }

  /** A new secret; the old one keeps working for the configured grace. Undefined when there is no such client. */
  async rotateSecret (clientId: string): Promise<{ secret: string, previousUntil: number | undefined } | undefined> {
    const current = await this.get(clientId)
    if (current === undefined) return undefined
    const secret = newSecret()
    const until = Date.now() + this.#d.graceSeconds * 1000
    const { previous: _, ...rest } = current
    const next: ClientRecord = { ...rest, secret_hash: this.#hash(secret), ...(this.#d.graceSeconds > 0 ? { previous: { secret_hash: current.secret_hash, until } } : {}) }
    if (!await this.catalog.update(clientId, next)) return undefined
    return { secret, previousUntil: this.#d.graceSeconds > 0 ? until : undefined }
  }

  /**
   * Deletes a client and ends everything it was issued: one `cli` cut-off in
   * the revocation list refuses its access tokens on every replica at once,
   * whatever session they belong to; its refresh tokens can only be spent by
   * it (src/tokens/sessions.ts), and it no longer authenticates.
   */
  async remove (clientId: string): Promise<boolean> {
    if (await this.get(clientId) === undefined) return false
    await this.#d.revocations.revoke([['cli', clientId, Date.now() + this.#d.tokenLifetimeMs()]])
    return (await this.catalog.delete([clientId])).length > 0
  }

  async get (clientId: string): Promise<ClientRecord | undefined> {
    if (!CLIENT_ID.test(clientId)) return undefined
    return await this.catalog.get(clientId)
  }

  async list (): Promise<ClientRecord[]> {
    return (await this.catalog.all()).sort((a, b) => a.created_at - b.created_at)
  }

  /**
   * Checks a client's secret, throttled per client and per IP like every
   * secret (scope 'client'). Unknown client and wrong secret are one answer,
   * GW_ERR_CLIENT_INVALID; too many failures, 429.
   */
  async verify (clientId: string, secret: string, ip: string): Promise<ClientRecord> {
    // Only well-formed ids become throttle keys: anything else counts against the IP alone.
    const account = CLIENT_ID.test(clientId) ? clientId : null
    await this.#d.throttle.check('client', account, ip)
    const record = account === null ? undefined : await this.catalog.get(account)
    const presented = Buffer.from(this.#hash(secret))
    const matches = (h: string) => { const b = Buffer.from(h); return b.length === presented.length && timingSafeEqual(b, presented) }
    const ok = record !== undefined && (matches(record.secret_hash) || (record.previous !== undefined && record.previous.until > Date.now() && matches(record.previous.secret_hash)))
    if (!ok) {
      const wait = await this.#d.throttle.failed('client', account, ip)
      throw wait > 0 ? new TooManyAttempts(wait) : new ClientInvalid()
    }
    await this.#d.throttle.succeeded('client', account!)
    return record
  }

  /**
   * The interface the Basic authenticator calls for `client_id:client_secret`:
   * the client's service user, narrowed to the client's scopes. A service
   * user changed since the snapshot (their cut-off is later) is read again
   * first; one that is gone makes the client invalid.
   */
  async authenticateClient (clientId: string, secret: string, ip: string): Promise<Identity> {
    try {
      return await this.#identity(clientId, secret, ip)
    } catch (err) {
      // Sent with Basic, so a refusal challenges for Basic (RFC 7617 §2).
      throw err instanceof ClientInvalid ? withBasicChallenge(err) : err
    }
  }

  async #identity (clientId: string, secret: string, ip: string): Promise<Identity> {
    let record = await this.verify(clientId, secret, ip)
    if (await this.#d.revocations.isUserCutOff(String(record.user_id), record.verified_at)) {
      const fresh = await this.refreshUser(record)
      if (fresh === undefined) throw new ClientInvalid()
      record = fresh
    }
    return {
      userId: String(record.user_id),
      login: record.user.login,
      email: record.user.email,
      roles: record.user.roles,
      method: 'basic',
      via: 'basic',
      clientId: record.client_id,
      issuedAt: Math.floor(record.verified_at / 1000),
      ...(record.scopes.length === 0 ? {} : { scopes: record.scopes })
    }
  }

  /**
   * Reads the service user again and stores the new snapshot. Undefined when
   * the user is gone: the client is then deleted (a client cannot act for
   * nobody, and a new user never inherits an old one's clients).
   */
  async refreshUser (record: ClientRecord): Promise<ClientRecord | undefined> {
    const user = await this.#d.bridge.getUser(record.user_id)
    if (user === null) {
      await this.remove(record.client_id)
      this.#d.log.warn({ client: record.client_id, user: record.user_id }, 'an OAuth client\'s service user is gone: the client was deleted')
      return undefined
    }
    const next: ClientRecord = { ...record, user: snapshot(user), verified_at: Date.now() }
    return await this.catalog.update(record.client_id, next) ? next : undefined
  }

  /** A change to a user (src/tokens/user-changes.ts): their clients follow it. */
  async userChanged (uid: number): Promise<void> {
    const theirs = (await this.catalog.all()).filter((c) => c.user_id === uid)
    for (const c of theirs) await this.refreshUser(c)
  }

  #hash (secret: string): string {
    return keyedHash(this.#d.hashSecret, 'client', secret)
  }
}

const newSecret = () => randomBytes(32).toString('base64url')
