import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose'
import { ProviderUnavailable, TokenExpired, TokenInvalid, TokenMalformed } from '../errors.js'
import type { Provider, Providers } from '../config/providers.js'
import { providerKeys } from './keys.js'

/** Told of every attempt at a provider's key set (src/providers/keys.ts), for metrics. */
export type KeyFetchObserver = (provider: string, result: 'ok' | 'error', seconds: number) => void

export interface ConfiguredProvider {
  name: string
  config: Provider
  keys: JWTVerifyGetKey
}

export interface VerifiedToken {
  provider: ConfiguredProvider
  claims: JWTPayload & { iat: number, exp: number }
}

// The key set could not be had: the provider's fault (or the network's), not the token's.
const UNREACHABLE = new Set(['ERR_JWKS_TIMEOUT', 'ERR_JWKS_INVALID', 'ERR_JOSE_GENERIC'])

/**
 * Provider tokens (issue 12 §2): the token's `iss` picks the provider before
 * anything is verified, then jose checks the signature with that provider's
 * keys and algorithms only, `iss`, `aud`, `exp`/`nbf`/`iat` with the
 * provider's clock tolerance, `typ` when configured; then `azp` and the
 * required claims. jose never accepts `alg: none`, and an HS* token is
 * refused before any key is looked at, as no provider may list HS*.
 */
export class ProviderVerifier {
  readonly #byIssuer = new Map<string, ConfiguredProvider>()
  readonly #all: ConfiguredProvider[] = []
  /** Set by the metrics plugin; unset, fetches are reported to nobody. */
  onKeyFetch: KeyFetchObserver | undefined

  constructor (providers: Providers) {
    for (const [name, config] of Object.entries(providers)) {
      const provider = { name, config, keys: providerKeys(config, (result, seconds) => { this.onKeyFetch?.(name, result, seconds) }) }
      this.#all.push(provider)
      // A provider for opaque tokens only (no key source) verifies no JWT: its issuer's JWTs are nobody's.
      if (config.discovery === true || config.jwksUri !== undefined || config.keys !== undefined) this.#byIssuer.set(config.issuer, provider)
    }
  }

  get size (): number { return this.#byIssuer.size }

  /** The providers that take opaque tokens (src/providers/opaque.ts). */
  get opaque (): ConfiguredProvider[] { return this.#all.filter((p) => p.config.opaque !== undefined) }

  byName (name: string): ConfiguredProvider | undefined {
    return this.#all.find((p) => p.name === name)
  }

  /** The cheap test, unverified: the provider whose issuer the token names, or undefined (not ours). */
  providerOf (token: string): ConfiguredProvider | undefined {
    if (token.length > 16_384) return undefined
    let iss: unknown
    try {
      iss = decodeJwt(token).iss
    } catch {
      return undefined
    }
    return typeof iss === 'string' ? this.#byIssuer.get(iss) : undefined
  }

  async verify (token: string, provider: ConfiguredProvider): Promise<VerifiedToken> {
    const p = provider.config
    let payload: JWTPayload
    try {
      ({ payload } = await jwtVerify(token, provider.keys, {
        issuer: p.issuer,
        audience: p.audiences,
        algorithms: p.algorithms,
        clockTolerance: p.clockToleranceSeconds,
        requiredClaims: ['exp', 'iat'],
        ...(p.typ === undefined ? {} : { typ: p.typ })
      }))
    } catch (err) {
      throw translate(err)
    }
    if (p.authorizedParties !== undefined && payload.azp !== undefined && !p.authorizedParties.includes(payload.azp as string)) throw new TokenInvalid()
    for (const [claim, value] of Object.entries(p.requireClaims)) if (payload[claim] !== value) throw new TokenInvalid()
    return { provider, claims: payload as VerifiedToken['claims'] }
  }
}

function translate (err: unknown): Error {
  if (err instanceof ProviderUnavailable) return err
  if (err instanceof joseErrors.JWTExpired) return new TokenExpired()
  const code = (err as { code?: unknown }).code
  if (err instanceof joseErrors.JOSEError && typeof code === 'string' && UNREACHABLE.has(code)) return new ProviderUnavailable({ cause: err })
  // fetch() itself failing (refused, reset, DNS) is a TypeError from undici.
  if (err instanceof TypeError || (err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') return new ProviderUnavailable({ cause: err })
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return new TokenMalformed()
  return new TokenInvalid()
}
