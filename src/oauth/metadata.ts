import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OAuthInvalidRequest } from '../errors.js'
import { GRANT_TYPES } from './record.js'
import { CLIENT_AUTH_METHODS } from './client-auth.js'
import { exchangeEnabled, TOKEN_EXCHANGE } from './grants/token-exchange.js'

export const OAUTH_TOKEN_PATH = '/wp-json/api/v1/oauth/token'
export const INTROSPECT_PATH = '/wp-json/api/v1/oauth/introspect'
export const OAUTH_REVOKE_PATH = '/wp-json/api/v1/oauth/revoke'
export const METADATA_PATH = '/.well-known/oauth-authorization-server'

const ORIGIN = /^https?:\/\/[^/\s?#@]+$/
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/

/**
 * The issuer (RFC 8414 §2): `oauth.issuer`, else `tokens.issuer` when it is
 * an origin, else the origin the request came to (Host, or with
 * server.trustProxy the forwarded host and protocol). `fixed` says whether it
 * depends on the request.
 */
export function issuerOf (app: FastifyInstance, request: FastifyRequest): { issuer: string, fixed: boolean } {
  const configured = app.config.oauth.issuer ?? (ORIGIN.test(app.config.tokens.issuer) ? app.config.tokens.issuer : undefined)
  if (configured !== undefined) return { issuer: configured, fixed: true }
  if (!HOST.test(request.host)) throw new OAuthInvalidRequest('The Host header is not a host name.')
  return { issuer: `${request.protocol}://${request.host}`.toLowerCase(), fixed: false }
}

/** Authorization server metadata (RFC 8414 §2); no authorization endpoint, so no response types. */
export async function metadata (app: FastifyInstance, issuer: string): Promise<Record<string, unknown>> {
  const ruleScopes = app.config.policy.rules.flatMap((r) => r.scopes ?? [])
  const clientScopes = (await app.oauthClients.list()).flatMap((c) => c.scopes)
  return {
    issuer,
    token_endpoint: issuer + OAUTH_TOKEN_PATH,
    introspection_endpoint: issuer + INTROSPECT_PATH,
    revocation_endpoint: issuer + OAUTH_REVOKE_PATH,
    jwks_uri: issuer + '/.well-known/jwks.json',
    grant_types_supported: [...GRANT_TYPES, ...(exchangeEnabled(app) ? [TOKEN_EXCHANGE] : [])],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    scopes_supported: [...new Set([...ruleScopes, ...clientScopes])].sort()
  }
}
