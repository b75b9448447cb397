import type { JWTPayload } from 'jose'
import { TokenInvalid } from '../errors.js'
import type { Provider } from '../config/providers.js'
import type { ProvisionPolicy, ProvisionRequest } from './provisioning-types.js'

/** A claim by name, or by a dotted path into nested claims (Keycloak's `realm_access.roles`); a name holding a dot itself wins. */
export function claimAt (claims: JWTPayload, path: string): unknown {
  if (path in claims) return claims[path]
  let at: unknown = claims
  for (const part of path.split('.')) {
    if (at === null || typeof at !== 'object' || Array.isArray(at) || !Object.hasOwn(at, part)) return undefined
    at = (at as Record<string, unknown>)[part]
  }
  return at
}

const text = (v: unknown, max: number): string | null => typeof v === 'string' && v !== '' && v.length <= max ? v : null

/**
 * WordPress roles from the provider's role claim, through the operator's map
 * only: a provider role that is not in the map grants nothing, so no token
 * can name `administrator` itself. Null when nothing maps (the policy's
 * default role then applies to a new user).
 */
export function mappedRoles (provider: Provider, claims: JWTPayload): string[] | null {
  if (provider.roles.claim === undefined) return null
  const value = claimAt(claims, provider.roles.claim)
  const given = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
  const roles = new Set<string>()
  for (const r of given) {
    if (!Object.hasOwn(provider.roles.map, r)) continue
    const to = provider.roles.map[r]!
    for (const role of typeof to === 'string' ? [to] : to) roles.add(role)
  }
  return roles.size === 0 ? null : [...roles]
}

/** The person the verified token describes, as provisioning asks for them. */
export function provisionRequest (name: string, provider: Provider, claims: JWTPayload): ProvisionRequest {
  const subject = text(claimAt(claims, provider.claims.subject), 255)
  // A token without its identifying claim names nobody: refused, never linked by email alone.
  if (subject === null) throw new TokenInvalid()
  const verified = claimAt(claims, provider.claims.emailVerified)
  return {
    provider: name,
    subject,
    email: text(claimAt(claims, provider.claims.email), 254),
    // Some providers (Cognito, older) send the string "true".
    emailVerified: verified === true || verified === 'true',
    displayName: text(claimAt(claims, provider.claims.displayName), 250),
    roles: mappedRoles(provider, claims)
  }
}

export function provisionPolicy (provider: Provider): ProvisionPolicy {
  return { ...provider.users, defaultRole: provider.roles.default }
}
