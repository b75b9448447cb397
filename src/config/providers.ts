import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { createPublicKey } from 'node:crypto'
import { checkOpaque, checkPrefixes, Opaque, type OpaqueConfig } from './providers-opaque.js'

// `providers:` (issue 12): the identity providers whose tokens the gateway
// accepts, by name. Only what an operator lists here is trusted: the issuer,
// its audiences, its algorithms. README, "Identity providers", has a block per preset.

/** Asymmetric only: with a shared secret the provider's public key could itself sign (RFC 8725 §2.1, §3.1). */
export const PROVIDER_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA'] as const
const Algorithm = Type.Union(PROVIDER_ALGORITHMS.map((a) => Type.Literal(a)))

/** A claim's name, or a dotted path into nested claims (`realm_access.roles`). */
const ClaimPath = Type.String({ minLength: 1, maxLength: 128, pattern: '^[^\\s.]+(\\.[^\\s.]+)*$' })
const WpRole = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' })

export const Provider = Type.Object({
  // The `iss` the provider writes into its tokens, exactly (OIDC Core §2). https, or http on a loopback address (tests).
  issuer: Type.String({ minLength: 1, maxLength: 512, pattern: '^(https://[^\\s?#]+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:\\d+)?(/[^\\s?#]*)?)$' }),
  // Where its keys come from: exactly one of discovery (issuer + /.well-known/openid-configuration), jwksUri, keys (JWKs or PEM public keys inline).
  discovery: Type.Optional(Type.Boolean()),
  jwksUri: Type.Optional(Type.String({ pattern: '^(https://[^\\s]+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:\\d+)?(/[^\\s]*)?)$' })),
  keys: Type.Optional(Type.Array(Type.Union([Type.String({ pattern: '^-----BEGIN PUBLIC KEY-----' }), Type.Object({ kty: Type.String() })]), { minItems: 1 })),
  // Accepted `aud` values: a token must name one of them.
  audiences: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, uniqueItems: true }),
  // Accepted `alg`s (asymmetric only).
  algorithms: Type.Array(Algorithm, { minItems: 1, uniqueItems: true, default: ['RS256'] }),
  // When set, a token's `azp` (if present) must be one of these (OIDC Core §2: the client the token was issued to).
  authorizedParties: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  // When set, the JOSE header's `typ` must be this (e.g. at+jwt for RFC 9068 access tokens).
  typ: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  // Claims that must hold exactly these values (Cognito: `token_use: id`; Azure AD: `tid: <tenant id>`).
  requireClaims: Type.Record(Type.String({ minLength: 1, maxLength: 128 }), Type.Union([Type.String(), Type.Boolean(), Type.Number()]), { default: {} }),
  clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
  claims: Type.Object({
    // The claim that identifies the person, stable for the provider: sub (oid for Azure AD).
    subject: Type.String({ minLength: 1, maxLength: 128, default: 'sub' }),
    email: Type.String({ minLength: 1, maxLength: 128, default: 'email' }),
    // The claim that says the provider verified the email; absent or not true: unverified (no linking by email).
    emailVerified: Type.String({ minLength: 1, maxLength: 128, default: 'email_verified' }),
    displayName: Type.String({ minLength: 1, maxLength: 128, default: 'name' })
  }, { additionalProperties: false, default: {} }),
  users: Type.Object({
    // Make a WordPress user for a person seen for the first time (false: 403 GW_ERR_USER_NOT_PROVISIONED).
    create: Type.Boolean({ default: true }),
    // Link to an existing WordPress user with the same email, only when the provider verified it.
    linkByEmail: Type.Boolean({ default: false }),
    // Set the WordPress roles to the mapped ones on later tokens too.
    updateRoles: Type.Boolean({ default: false })
  }, { additionalProperties: false, default: {} }),
  roles: Type.Object({
    // The claim holding the provider's roles or groups (string or array), e.g. realm_access.roles, cognito:groups, roles.
    claim: Type.Optional(ClaimPath),
    // Provider role → WordPress role(s). Roles not listed here grant nothing; administrator only when listed here.
    map: Type.Record(Type.String({ minLength: 1, maxLength: 256 }), Type.Union([WpRole, Type.Array(WpRole, { minItems: 1 })]), { default: {} }),
    // The role of a new user when the token maps none. Never administrator.
    default: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', default: 'subscriber' })
  }, { additionalProperties: false, default: {} }),
  jwks: Type.Object({
    // Longest wait for discovery or the key set; past it the provider's tokens get 503 GW_ERR_PROVIDER_UNAVAILABLE.
    timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 5000 }),
    // An unknown kid refetches the key set at most this often (jose's cooldownDuration).
    cooldownSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 30 }),
    // A fetched key set is used this long before it is fetched again (jose's cacheMaxAge).
    maxAgeSeconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 600 })
  }, { additionalProperties: false, default: {} }),
  // A verified token's identity is remembered this long (never past its exp): later requests cost no network and no bridge call.
  cacheSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 300 }),
  // Accept this provider's tokens at the token endpoint's token-exchange grant (RFC 8693) for the gateway's own pair.
  exchange: Type.Boolean({ default: false }),
  // Opaque tokens of this provider, checked at its userinfo or introspection endpoint (README, "Opaque tokens").
  opaque: Type.Optional(Opaque)
}, { additionalProperties: false })
export type Provider = Static<typeof Provider>

export const Providers = Type.Record(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' }), Provider, { default: {} })
export type Providers = Static<typeof Providers>

/** TypeBox fills no defaults inside a Record's values: each provider gets its own here, before validation. */
export function withProviderDefaults (raw: unknown): unknown {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return raw
  return Object.fromEntries(Object.entries(raw).map(([name, p]) => {
    const filled = Value.Default(Provider, p) as { opaque?: unknown }
    // Value.Default does not descend into an Optional object either.
    if (filled !== null && typeof filled === 'object' && filled.opaque !== null && typeof filled.opaque === 'object') filled.opaque = Value.Default(Opaque, filled.opaque)
    return [name, filled]
  }))
}

/** What the schema cannot say about providers, each problem naming its key. */
export function checkProviders (raw: unknown, ownIssuer: unknown, methods: unknown[] | undefined, problems: string[]): void {
  const providers = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? raw as Record<string, unknown> : {}
  const issuers = new Map<string, string>()
  const opaque: Array<[string, OpaqueConfig]> = []
  for (const [name, p] of Object.entries(providers)) {
    if (!Value.Check(Provider, p)) continue
    const key = `config providers.${name}`
    const sources = (['discovery', 'jwksUri', 'keys'] as const).filter((k) => p[k] !== undefined && p[k] !== false)
    if (sources.length === 0 && p.opaque === undefined) problems.push(`${key}: no key source; set one of discovery: true, jwksUri or keys`)
    if (sources.length > 1) problems.push(`${key}: ${sources.join(' and ')} are both set; keep one key source`)
    p.keys?.forEach((k, i) => {
      const problem = keyProblem(k)
      if (problem !== undefined) problems.push(`${key}.keys.${i}: ${problem}`)
    })
    if (p.roles.default === 'administrator') problems.push(`${key}.roles.default: administrator is never a default; map a provider role to it explicitly in roles.map`)
    if (Object.keys(p.roles.map).length > 0 && p.roles.claim === undefined) problems.push(`${key}.roles.map: set roles.claim, the claim the mapped roles are read from`)
    if (p.issuer === ownIssuer) problems.push(`${key}.issuer: is the gateway's own tokens.issuer`)
    const other = issuers.get(p.issuer)
    if (other !== undefined) problems.push(`${key}.issuer: the same issuer as providers.${other}; one provider per issuer`)
    issuers.set(p.issuer, name)
    if (p.opaque !== undefined) {
      checkOpaque(key, p.opaque, problems)
      opaque.push([name, p.opaque])
    }
  }
  checkPrefixes(opaque, problems)
  if (methods === undefined) return
  const named = Object.keys(providers).length > 0
  if (methods.includes('oidc') && !named) problems.push('config auth.methods: oidc is enabled but no providers are configured')
  if (!methods.includes('oidc') && named) problems.push('config providers: providers are configured but oidc is not in auth.methods')
}

/** Inline keys must be public keys of an asymmetric kind: a private or shared-secret key has no place here. */
function keyProblem (key: string | { kty: string }): string | undefined {
  if (typeof key !== 'string') {
    if (!['RSA', 'EC', 'OKP'].includes(key.kty)) return `kty ${key.kty} is not an asymmetric key type (RSA, EC, OKP)`
    if ('d' in key) return 'is a private key; give the public key only'
  }
  try {
    createPublicKey(typeof key === 'string' ? key : { key: key as never, format: 'jwk' })
    return undefined
  } catch (err) {
    return `is not a public key (${(err as Error).message})`
  }
}
