import { createHash } from 'node:crypto'
import type { JWTPayload } from 'jose'
import { LRUCache } from 'lru-cache'
import { TokenRevoked } from '../errors.js'
import type { WordPressUser } from '../bridge/client.js'
import type { Identity } from '../pipeline/authenticate/identity.js'
import type { Revocations } from '../tokens/revocation.js'
import type { UserChanges } from '../tokens/user-changes.js'
import { provisionPolicy, provisionRequest } from './claims.js'
import type { ProvisionPolicy, ProvisionRequest } from './provisioning-types.js'
import { askProvider, opaqueProviderOf } from './opaque.js'
import type { ConfiguredProvider, ProviderVerifier } from './verify.js'

/** What this module needs of provisioning (src/providers/provisioning.ts). */
export interface UserResolver {
  resolve (request: ProvisionRequest, policy: ProvisionPolicy): Promise<WordPressUser>
}

export interface ProviderIdentity {
  identity: Identity
  user: WordPressUser
  provider: ConfiguredProvider
}

/**
 * A provider token to the WordPress user it stands for: verified (jose),
 * then found or made by provisioning. The answer is remembered for the
 * provider's cacheSeconds and never past the token's exp, so after the first
 * request a token costs neither a network call nor a bridge call nor a
 * decode; concurrent first requests with one token share one look-up. The
 * key is the token itself, as for the gateway's own tokens
 * (src/tokens/access-token.ts): a hash would cost more than the look-up, and
 * the process holds the token while it answers anyway.
 * A cut-off of the user (password, role, deletion, logout everywhere) ends
 * tokens issued before it, cached or not.
 *
 * An opaque token (src/providers/opaque.ts) is asked about at its
 * provider's endpoint instead, and the answer kept for `opaque.cacheSeconds`
 * under the token's SHA-256: the endpoint is a remote call, and the key in
 * memory is not a usable bearer token. Failures are not kept.
 */
export class ProviderTokens {
  readonly #verifier: ProviderVerifier
  readonly #users: UserResolver
  readonly #revocations: Revocations
  readonly #cache = new LRUCache<string, ProviderIdentity>({ max: 10_000 })
  readonly #pending = new Map<string, Promise<ProviderIdentity>>()
  readonly #opaque: ConfiguredProvider[]
  readonly #secrets: Readonly<Record<string, string>>

  constructor (verifier: ProviderVerifier, users: UserResolver, revocations: Revocations, userChanges: UserChanges, secrets: Readonly<Record<string, string>> = {}) {
    this.#verifier = verifier
    this.#opaque = verifier.opaque
    this.#secrets = secrets
    this.#users = users
    this.#revocations = revocations
    userChanges.on(async (uid) => { this.forgetUser(uid) })
  }

  get verifier (): ProviderVerifier { return this.#verifier }

  /** The cheap test: a configured provider's JWT (by its unverified `iss`) or opaque token (by its prefix), or undefined. */
  providerOf (token: string): ConfiguredProvider | undefined {
    return this.#verifier.providerOf(token) ?? opaqueProviderOf(token, this.#opaque)
  }

  /** A token verified before and still remembered, or undefined: the hot path, before any decoding. */
  remembered (token: string): ProviderIdentity | Promise<ProviderIdentity> | undefined {
    const hit = this.#cache.get(token)
    return hit === undefined ? undefined : this.#notCutOff(hit)
  }

  identify (token: string, provider: ConfiguredProvider): ProviderIdentity | Promise<ProviderIdentity> {
    const opaque = this.#verifier.providerOf(token) !== provider
    const key = opaque ? `opaque:${createHash('sha256').update(token).digest('base64url')}` : token
    const hit = this.#cache.get(key)
    if (hit !== undefined) return this.#notCutOff(hit)
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      pending = (opaque ? this.#resolveOpaque(key, token, provider) : this.#resolve(key, token, provider)).finally(() => this.#pending.delete(key))
      this.#pending.set(key, pending)
    }
    return pending.then((found) => this.#notCutOff(found))
  }

  forgetUser (uid: number): void {
    const id = String(uid)
    for (const [key, entry] of this.#cache.entries()) if (entry.identity.userId === id) this.#cache.delete(key)
  }

  #notCutOff (found: ProviderIdentity): ProviderIdentity | Promise<ProviderIdentity> {
    const cut = this.#revocations.isUserCutOff(found.identity.userId, found.identity.issuedAt! * 1000)
    if (cut === false) return found
    if (cut === true) throw new TokenRevoked()
    return cut.then((isCut) => { if (isCut) throw new TokenRevoked(); return found })
  }

  async #resolve (key: string, token: string, provider: ConfiguredProvider): Promise<ProviderIdentity> {
    const { claims } = await this.#verifier.verify(token, provider)
    const found = await this.#provision(provider, claims, claims.iat, claims.exp)
    const ttl = Math.min(provider.config.cacheSeconds * 1000, claims.exp * 1000 - Date.now())
    if (ttl > 0) this.#cache.set(key, found, { ttl })
    return found
  }

  async #resolveOpaque (key: string, token: string, provider: ConfiguredProvider): Promise<ProviderIdentity> {
    const answer = await askProvider(token, provider, this.#secrets[provider.name])
    const cacheSeconds = provider.config.opaque!.cacheSeconds
    const expiresAt = answer.expiresAt ?? Math.floor(Date.now() / 1000) + cacheSeconds
    const found = await this.#provision(provider, answer.claims, answer.issuedAt, expiresAt)
    const ttl = Math.min(cacheSeconds * 1000, expiresAt * 1000 - Date.now())
    if (ttl > 0) this.#cache.set(key, found, { ttl })
    return found
  }

  async #provision (provider: ConfiguredProvider, claims: JWTPayload, issuedAt: number, expiresAt: number): Promise<ProviderIdentity> {
    const user = await this.#users.resolve(provisionRequest(provider.name, provider.config, claims), provisionPolicy(provider.config))
    return {
      identity: {
        userId: String(user.id),
        login: user.login,
        email: user.email,
        roles: user.roles,
        method: 'oidc',
        // DESIGN §3: WordPress is told the caller came with an external identity.
        via: 'external',
        issuedAt,
        expiresAt
      },
      user,
      provider
    }
  }
}
