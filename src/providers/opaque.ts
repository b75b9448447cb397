import type { JWTPayload } from 'jose'
import { ProviderUnavailable, TokenInvalid } from '../errors.js'
import type { Provider } from '../config/providers.js'
import { OWN_TOKEN_PREFIXES } from '../config/providers-opaque.js'
import type { ConfiguredProvider } from './verify.js'

type Opaque = NonNullable<Provider['opaque']>

export interface OpaqueAnswer {
  claims: JWTPayload
  /** When the provider vouched for the token (s): its `iat` if it says one, else the time of its answer. */
  issuedAt: number
  /** Until when the answer may be kept (s): the token's `exp` if it says one. */
  expiresAt: number | undefined
}

// RFC 6750 §2.1 b64token: anything else is no bearer token of a provider.
const B64TOKEN = /^[A-Za-z0-9._~+/=-]+$/
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Which provider an opaque token belongs to, without sending it anywhere:
 * the one whose `opaque.prefix` it starts with, or, when a single provider
 * takes opaque tokens and names no prefix, that one. The gateway's own
 * credentials and JWTs are never a provider's opaque token: a bearer token
 * sent to a provider that did not issue it is leaked to it.
 */
export function opaqueProviderOf (token: string, providers: readonly ConfiguredProvider[]): ConfiguredProvider | undefined {
  if (providers.length === 0 || token.length > 4096 || !B64TOKEN.test(token)) return undefined
  if (OWN_TOKEN_PREFIXES.some((p) => token.startsWith(p))) return undefined
  const byPrefix = providers.find((p) => p.config.opaque?.prefix !== undefined && token.startsWith(p.config.opaque.prefix))
  if (byPrefix !== undefined) return byPrefix
  const only = providers.length === 1 && providers[0]!.config.opaque?.prefix === undefined ? providers[0] : undefined
  return only !== undefined && !isJws(token) ? only : undefined
}

function isJws (token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'))
    return header !== null && typeof header === 'object'
  } catch {
    return false
  }
}

/**
 * Asks the provider about an opaque token: userinfo (OIDC Core §5.3, the
 * token as `Authorization: Bearer`) or introspection (RFC 7662 §2, a form
 * POST with the gateway's client credentials in Basic). What the token's
 * fault is (refused, inactive, for another audience or client) is 401
 * GW_ERR_TOKEN_INVALID; what is the provider's (down, slow, 5xx, our client
 * refused, an answer that is not JSON) is 503 GW_ERR_PROVIDER_UNAVAILABLE.
 */
export async function askProvider (token: string, provider: ConfiguredProvider, clientSecret: string | undefined): Promise<OpaqueAnswer> {
  const p = provider.config
  const o = p.opaque!
  const introspection = o.introspection !== undefined
  const body = await call(token, o, clientSecret)
  const now = Math.floor(Date.now() / 1000)
  if (introspection) checkIntrospection(body, p, now)
  // A userinfo answer that names an audience (Google's tokeninfo shape) is held to the configured ones too.
  else if (body.aud !== undefined && !audienceMatches(body.aud, p.audiences)) throw new TokenInvalid()
  if (p.authorizedParties !== undefined) {
    const party = introspection ? body.client_id : body.azp
    if (party !== undefined && !p.authorizedParties.includes(party as string)) throw new TokenInvalid()
  }
  for (const [claim, value] of Object.entries(p.requireClaims)) if (body[claim] !== value) throw new TokenInvalid()
  const exp = typeof body.exp === 'number' ? body.exp : undefined
  const iat = introspection && typeof body.iat === 'number' && body.iat <= now + p.clockToleranceSeconds ? body.iat : now
  return { claims: body, issuedAt: iat, expiresAt: exp }
}

async function call (token: string, o: Opaque, clientSecret: string | undefined): Promise<JWTPayload> {
  let res: Response
  const init = { signal: AbortSignal.timeout(o.timeoutMs), redirect: 'error' as const }
  try {
    if (o.introspection !== undefined) {
      const basic = `${encodeURIComponent(o.introspection.clientId)}:${encodeURIComponent(clientSecret ?? '')}`
      res = await fetch(o.introspection.url, {
        ...init,
        method: 'POST',
        // RFC 7662 §2.1; client_secret_basic per RFC 6749 §2.3.1 (form-encoded id and secret).
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(basic).toString('base64')}` },
        body: new URLSearchParams({ token, token_type_hint: 'access_token' })
      })
    } else {
      res = await fetch(o.userinfo!, { ...init, headers: { accept: 'application/json', authorization: `Bearer ${token}` } })
    }
  } catch (err) {
    throw new ProviderUnavailable({ cause: err })
  }
  // Userinfo refuses a bad token with 401 (RFC 6750 §3.1); introspection answers 200 active:false, and its 401 is about our client.
  if (o.userinfo !== undefined && (res.status === 400 || res.status === 401 || res.status === 403)) {
    await res.body?.cancel()
    throw new TokenInvalid()
  }
  if (res.status !== 200) {
    await res.body?.cancel()
    throw new ProviderUnavailable({ cause: new Error(`${o.userinfo ?? o.introspection!.url} answered ${res.status}`) })
  }
  let body: unknown
  try {
    body = await res.json()
  } catch (err) {
    throw new ProviderUnavailable({ cause: err })
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ProviderUnavailable({ cause: new Error('the provider\'s answer is not a JSON object') })
  return body as JWTPayload
}

/** RFC 7662 §2.2: only `active: true` vouches; iss, aud, exp, nbf are held to the provider's when the answer has them. */
function checkIntrospection (body: JWTPayload, p: Provider, now: number): void {
  if (body.active !== true) throw new TokenInvalid()
  if (body.iss !== undefined && body.iss !== p.issuer) throw new TokenInvalid()
  if (body.aud !== undefined && !audienceMatches(body.aud, p.audiences)) throw new TokenInvalid()
  if (typeof body.exp === 'number' && body.exp + p.clockToleranceSeconds <= now) throw new TokenInvalid()
  if (typeof body.nbf === 'number' && body.nbf - p.clockToleranceSeconds > now) throw new TokenInvalid()
}

function audienceMatches (aud: unknown, accepted: readonly string[]): boolean {
  const given = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : []
  return given.some((a) => typeof a === 'string' && accepted.includes(a))
}
