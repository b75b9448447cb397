import type { FastifyRequest } from 'fastify'
import type { ProviderIdentity, ProviderTokens } from '../../providers/provider-tokens.js'
import type { Authenticator } from './authenticator.js'
import type { RequestCredentials } from './credentials.js'
import type { Identity } from './identity.js'

/**
 * Tokens of the configured identity providers, as `Bearer <jwt>` (issue 12).
 * Responsible only for a token whose unverified `iss` is a configured
 * provider's issuer, or an opaque token an opaque provider takes (by its
 * prefix, or the only one: src/providers/opaque.ts); everything else is
 * "not responsible", at the cost of one base64 decode. A token of a provider that fails verification is an
 * error and never reaches WordPress.
 */
export class OidcAuthenticator implements Authenticator {
  readonly method = 'oidc' as const
  readonly #tokens: ProviderTokens

  constructor (tokens: ProviderTokens) {
    this.#tokens = tokens
  }

  authenticate (_request: FastifyRequest, { header }: RequestCredentials): Identity | null | Promise<Identity> {
    if (header?.scheme !== 'bearer') return null
    const found = this.#tokens.remembered(header.value) ?? this.#identify(header.value)
    if (found === null) return null
    return found instanceof Promise ? found.then(identityOf) : found.identity
  }

  #identify (token: string): ProviderIdentity | Promise<ProviderIdentity> | null {
    const provider = this.#tokens.providerOf(token)
    return provider === undefined ? null : this.#tokens.identify(token, provider)
  }
}

const identityOf = (found: ProviderIdentity): Identity => found.identity
