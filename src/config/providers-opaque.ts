import { Type, type Static } from '@sinclair/typebox'
import type { Providers } from './providers.js'

// `providers.<name>.opaque` (issue 12 §2): a provider's opaque access tokens,
// checked at its userinfo or introspection endpoint (src/providers/opaque.ts).

const HttpsUrl = Type.String({ maxLength: 2048, pattern: '^(https://[^\\s]+|http://(127\\.0\\.0\\.1|localhost|\\[::1\\])(:\\d+)?(/[^\\s]*)?)$' })
/** What the gateway's own credentials start with (src/api-keys/key.ts wpgk_, src/admin and src/metrics wpag_): never sent to a provider. */
export const OWN_TOKEN_PREFIXES = ['wpgk_', 'wpag_'] as const

/**
 * Opaque tokens (Google and Facebook access tokens): checked at the
 * provider's userinfo endpoint (OIDC Core §5.3) or its introspection
 * endpoint (RFC 7662). A token is a bearer secret: only one provider may ever
 * be sent a given token, so with more than one opaque provider each names the
 * prefix its tokens start with.
 */
export const Opaque = Type.Object({
  // The userinfo endpoint, called with `Authorization: Bearer <token>`.
  userinfo: Type.Optional(HttpsUrl),
  introspection: Type.Optional(Type.Object({
    url: HttpsUrl,
    clientId: Type.String({ minLength: 1, maxLength: 512 }),
    // The client secret is never in the YAML: the name of an environment variable (NAME, or NAME_FILE holding a path), or a file.
    clientSecretEnv: Type.Optional(Type.String({ pattern: '^[A-Z_][A-Z0-9_]{0,127}$' })),
    clientSecretFile: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 }))
  }, { additionalProperties: false })),
  // What this provider's tokens start with (Google: `ya29.`); required when more than one provider takes opaque tokens.
  prefix: Type.Optional(Type.String({ minLength: 2, maxLength: 64, pattern: '^[A-Za-z0-9._~+/=-]+$' })),
  // A provider's answer is remembered this long under a hash of the token (never past its exp, when it says one).
  cacheSeconds: Type.Integer({ minimum: 0, maximum: 600, default: 60 }),
  // Longest wait for the endpoint; past it the token gets 503 GW_ERR_PROVIDER_UNAVAILABLE.
  timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 3000 })
}, { additionalProperties: false })
export type OpaqueConfig = Static<typeof Opaque>

export function checkOpaque (key: string, o: OpaqueConfig, problems: string[]): void {
  if ((o.userinfo === undefined) === (o.introspection === undefined)) problems.push(`${key}.opaque: set exactly one of userinfo and introspection`)
  const i = o.introspection
  if (i !== undefined && (i.clientSecretEnv === undefined) === (i.clientSecretFile === undefined)) {
    problems.push(`${key}.opaque.introspection: set exactly one of clientSecretEnv and clientSecretFile (the secret itself never goes in the YAML)`)
  }
  const own = OWN_TOKEN_PREFIXES.find((own) => o.prefix !== undefined && (o.prefix.startsWith(own) || own.startsWith(o.prefix)))
  if (own !== undefined) problems.push(`${key}.opaque.prefix: overlaps ${own}, the start of the gateway's own credentials`)
}

/** One token, one provider: with several opaque providers each needs a prefix no other one's starts with. */
export function checkPrefixes (opaque: ReadonlyArray<[string, OpaqueConfig]>, problems: string[]): void {
  if (opaque.length < 2) return
  opaque.forEach(([name, o], i) => {
    if (o.prefix === undefined) {
      problems.push(`config providers.${name}.opaque.prefix: required, as more than one provider takes opaque tokens (a token must never go to a provider that did not issue it)`)
      return
    }
    for (const [other, q] of opaque.slice(0, i)) {
      const a = o.prefix
      const b = q.prefix
      if (b !== undefined && (a.startsWith(b) || b.startsWith(a))) problems.push(`config providers.${name}.opaque.prefix: overlaps providers.${other}.opaque.prefix; a token must match one provider only`)
    }
  })
}

/** The introspection client secrets, read from where the config names (never the YAML itself), by provider name. */
export function readProviderSecrets (providers: Providers, read: (name: string) => string | undefined, readFile: (path: string, name: string) => string | undefined, problems: string[]): Record<string, string> {
  const secrets: Record<string, string> = {}
  for (const [name, p] of Object.entries(providers)) {
    const i = p.opaque?.introspection
    if (i === undefined) continue
    const before = problems.length
    const value = i.clientSecretEnv !== undefined ? read(i.clientSecretEnv) : i.clientSecretFile !== undefined ? readFile(i.clientSecretFile, `config providers.${name}.opaque.introspection.clientSecretFile`)?.replace(/\r?\n$/, '') : undefined
    if (value !== undefined && value !== '') secrets[name] = value
    else if (problems.length === before && i.clientSecretEnv !== undefined) problems.push(`${i.clientSecretEnv}: not set; set it (or ${i.clientSecretEnv}_FILE) to the introspection client secret of providers.${name}`)
  }
  return secrets
}
