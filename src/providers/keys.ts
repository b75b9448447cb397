import { createPublicKey } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createLocalJWKSet, createRemoteJWKSet, customFetch, type FetchImplementation, type JWK, type JWTVerifyGetKey } from 'jose'
import { ProviderUnavailable } from '../errors.js'
import type { Provider } from '../config/providers.js'

/**
 * Where one provider's verification keys come from: inline keys, a JWKS URL,
 * or the JWKS URL its discovery document names (OIDC Discovery §4).
 *
 * Discovery is lazy, on the first token of that provider, with the bounded
 * wait of jwks.timeoutMs: the gateway starts and serves every other method
 * while a provider is down. A failed discovery is remembered for the JWKS
 * cooldown so a flood of tokens does not become a flood of fetches; then the
 * next token tries again. The key set itself is jose's createRemoteJWKSet:
 * cached for jwks.maxAgeSeconds, refetched on an unknown kid at most once per
 * cooldown, every fetch bounded by the timeout.
 *
 * Every attempt at the key set is reported (metrics): a fetch, and a
 * discovery that failed, since then no key set could be had either.
 */
export function providerKeys (provider: Provider, report: KeyFetchReport = () => {}): JWTVerifyGetKey {
  if (provider.keys !== undefined) return createLocalJWKSet({ keys: provider.keys.map(toJwk) })
  const remote = (url: string) => createRemoteJWKSet(new URL(url), {
    timeoutDuration: provider.jwks.timeoutMs,
    cooldownDuration: provider.jwks.cooldownSeconds * 1000,
    cacheMaxAge: provider.jwks.maxAgeSeconds * 1000,
    [customFetch]: reportedFetch(report)
  })
  if (provider.jwksUri !== undefined) return remote(provider.jwksUri)
  let jwks: JWTVerifyGetKey | undefined
  let pending: Promise<JWTVerifyGetKey> | undefined
  let failedAt = 0
  return async (header, token) => {
    if (jwks === undefined) {
      if (Date.now() - failedAt < provider.jwks.cooldownSeconds * 1000) throw new ProviderUnavailable()
      const started = performance.now()
      pending ??= discover(provider).then(remote).finally(() => { pending = undefined })
      try {
        jwks = await pending
      } catch (err) {
        failedAt = Date.now()
        report('error', (performance.now() - started) / 1000)
        throw err
      }
    }
    return await jwks(header, token)
  }
}

/** `result`: whether a usable key set came (HTTP 200, a JSON object with `keys`); `seconds`: until its last byte. */
export type KeyFetchReport = (result: 'ok' | 'error', seconds: number) => void

/**
 * fetch, with the outcome reported: the answer is read whole here (jose
 * would read it next anyway) so a broken body counts as a failed fetch too,
 * and handed to jose as it came.
 */
function reportedFetch (report: KeyFetchReport): FetchImplementation {
  return async (url, options) => {
    const started = performance.now()
    const seconds = () => (performance.now() - started) / 1000
    let res: Response
    let body: string
    try {
      res = await fetch(url, options)
      body = await res.text()
    } catch (err) {
      report('error', seconds())
      throw err
    }
    report(res.status === 200 && isKeySet(body) ? 'ok' : 'error', seconds())
    return new Response(body === '' ? null : body, { status: res.status, statusText: res.statusText, headers: res.headers })
  }
}

function isKeySet (body: string): boolean {
  try {
    return Array.isArray((JSON.parse(body) as { keys?: unknown })?.keys)
  } catch {
    return false
  }
}

/** The provider's jwks_uri, from a discovery document that must name the configured issuer exactly (OIDC Discovery §4.3). */
async function discover (provider: Provider): Promise<string> {
  const url = `${provider.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`
  let doc: { issuer?: unknown, jwks_uri?: unknown }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(provider.jwks.timeoutMs), redirect: 'error', headers: { accept: 'application/json' } })
    if (res.status !== 200) throw new Error(`discovery answered ${res.status}`)
    doc = await res.json() as typeof doc
  } catch (err) {
    throw new ProviderUnavailable({ cause: err })
  }
  // An https issuer's keys come over https too: a discovery document cannot downgrade them.
  const scheme = provider.issuer.startsWith('https://') ? /^https:\/\// : /^https?:\/\//
  if (doc?.issuer !== provider.issuer || typeof doc.jwks_uri !== 'string' || !scheme.test(doc.jwks_uri)) {
    throw new ProviderUnavailable({ cause: new Error(`discovery document at ${url} does not name issuer ${provider.issuer} with a jwks_uri`) })
  }
  return doc.jwks_uri
}

/** Inline keys: JWKs as given, PEM public keys turned into JWKs by node:crypto. */
function toJwk (key: string | { kty: string }): JWK {
  return typeof key === 'string' ? createPublicKey(key).export({ format: 'jwk' }) as JWK : key as JWK
}
