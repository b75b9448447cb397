import { STATUS_CODES } from 'node:http'
import type { FastifySchemaCompiler } from 'fastify'
import { Type, type TSchema } from '@sinclair/typebox'
import { RestError } from '../errors.js'
import { OAuthError } from '../oauth/respond.js'

// What the gateway's own routes answer, for Fastify's serializer and for the
// OpenAPI document (/_gateway/openapi.json). Fastify serializes with these
// schemas (fast-json-stringify), which writes only the properties a schema
// names: each answer is described exactly, with additionalProperties: false,
// and test/routes/openapi.test.ts checks real answers against them.

/** The names of the security schemes (src/plugins/openapi.ts defines them). */
export const Security = {
  jwt: { bearerJwt: [] },
  apiKey: { apiKey: [] },
  basic: { basic: [] },
  adminToken: { adminToken: [] },
  metricsToken: { metricsToken: [] },
  dashboardCookie: { dashboardCookie: [] },
  client: { clientBasic: [] },
  none: {}
} as const

const ref = (schema: { $id?: string }, description: string) => Type.Ref(schema.$id!, { description })

/**
 * Error answers in the gateway's shape: the statuses a route documents, each
 * with why, and any other 4xx and 5xx (a malformed body, a store that cannot
 * answer) in the same shape.
 */
export function errors (documented: Record<number, string> = {}): Record<string, TSchema> {
  const out: Record<string, TSchema> = {}
  for (const [status, why] of Object.entries(documented)) out[status] = ref(RestError, `${STATUS_CODES[status] ?? status}: ${why}`)
  out['4xx'] = ref(RestError, 'Any other client error (README, "Errors")')
  out['5xx'] = ref(RestError, 'The gateway, Redis or WordPress cannot answer (no detail on 500)')
  return out
}

/** The same for the OAuth endpoints, which answer in RFC 6749 §5.2's shape. */
export function oauthErrors (documented: Record<number, string> = {}): Record<string, TSchema> {
  const out: Record<string, TSchema> = {}
  for (const [status, why] of Object.entries(documented)) out[status] = ref(OAuthError, `${STATUS_CODES[status] ?? status}: ${why}`)
  out['4xx'] = ref(OAuthError, 'invalid_request and the other RFC 6749 §5.2 errors')
  out['5xx'] = ref(OAuthError, 'temporarily_unavailable or server_error')
  return out
}

/**
 * For a body schema that documents what the handler itself checks, with the
 * same schema, where Fastify's check would answer differently (RFC 6749's
 * error shape, a logout without a body).
 */
export const checkedInHandler: FastifySchemaCompiler<unknown> = () => (value) => ({ value })

/** Who may call the admin routes (README, "Admin routes"), and what they may answer besides. */
export const ADMIN = {
  // The guard (src/admin/guard.ts) takes any of these; with the dashboard's cookie, changes need its CSRF token too.
  tags: ['admin'],
  security: [Security.adminToken, Security.jwt, Security.dashboardCookie],
  errors: (documented: Record<number, string> = {}) => errors({ 401: 'No credentials, or invalid ones', 403: 'GW_ERR_FORBIDDEN: not an administrator', ...documented })
}

export const NoContent = Type.Null({ description: 'No content' })

/** A time as the routes write it (Date#toISOString); a fixed example keeps the generated Postman collection the same from run to run. */
export const DateTime = Type.String({ format: 'date-time', examples: ['2026-11-25T17:00:00.000Z'], example: '2026-11-25T17:00:00.000Z' })
const Iso = DateTime
const IsoOrNull = Type.Union([Iso, Type.Null()])

/** The user a token was issued for, as WordPress describes them. */
export const TokenUser = Type.Object({
  id: Type.Integer(),
  login: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
  roles: Type.Array(Type.String())
}, { additionalProperties: false })

/** The login and refresh answer (README, "Endpoints"). */
export const TokenPair = Type.Object({
  token_type: Type.Literal('Bearer'),
  access_token: Type.String({ description: 'JWT (typ at+jwt)' }),
  expires_in: Type.Integer({ description: 'Seconds' }),
  jwt_token: Type.String({ description: 'The same token, under the name clients of the miniOrange plugin read' }),
  refresh_token: Type.String(),
  refresh_expires_in: Type.Integer({ description: 'Seconds' }),
  user: TokenUser
}, { $id: 'TokenPair', title: 'TokenPair', additionalProperties: false })

/** An OAuth token endpoint's answer (RFC 6749 §5.1; RFC 8693 §2.2.1 adds issued_token_type). */
export const OAuthToken = Type.Object({
  access_token: Type.String(),
  issued_token_type: Type.Optional(Type.String()),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String())
}, { $id: 'OAuthToken', title: 'OAuthToken', additionalProperties: false })

// Fastify writes properties in the schema's order: each lists them as the handlers make them (the CLI's tables show them so).
const KeyId = Type.String({ pattern: '^[0-9a-f]{24}$' })
const Times = { expires_at: IsoOrNull, created_at: Iso }

/** A key as made: the only answer that shows `key`. */
export const ApiKeyCreated = Type.Object({
  id: KeyId,
  key: Type.String({ description: 'wpgk_<id>_<secret>; shown once' }),
  name: Type.String(),
  user_id: Type.Integer(),
  scopes: Type.Array(Type.String()),
  ...Times
}, { $id: 'ApiKeyCreated', title: 'ApiKeyCreated', additionalProperties: false })

export const ApiKeyList = Type.Object({
  api_keys: Type.Array(Type.Object({
    id: KeyId,
    name: Type.String(),
    user_id: Type.Integer(),
    kind: Type.Union([Type.Literal('universal'), Type.Literal('personal')]),
    scopes: Type.Array(Type.String()),
    ...Times,
    last_used_at: IsoOrNull,
    last_used_ip: Type.Union([Type.String(), Type.Null()])
  }, { additionalProperties: false }))
}, { $id: 'ApiKeyList', title: 'ApiKeyList', additionalProperties: false })

/** Every schema the routes refer to by `$id`, added once to the app (src/plugins/openapi.ts). */
export const SHARED_SCHEMAS: ReadonlyArray<TSchema & { $id: string }> = [RestError, OAuthError, TokenPair, OAuthToken, ApiKeyCreated, ApiKeyList] as Array<TSchema & { $id: string }>

/** The accounts' answers that say only what happened (README, "Accounts: registration and password reset"). */
export const AccountStatus = Type.Object({
  status: Type.String({ description: '`accepted` or `reset`' }),
  message: Type.String()
}, { additionalProperties: false })

/** A registration that may say so: the new user, and with `accounts.register.login` a token pair too. */
export const Registered = Type.Object({
  status: Type.Literal('registered'),
  token_type: Type.Optional(Type.Literal('Bearer')),
  access_token: Type.Optional(Type.String()),
  expires_in: Type.Optional(Type.Integer()),
  jwt_token: Type.Optional(Type.String()),
  refresh_token: Type.Optional(Type.String()),
  refresh_expires_in: Type.Optional(Type.Integer()),
  user: TokenUser
}, { additionalProperties: false, description: 'Registered (the token pair only when accounts.register.login is on and WordPress let the new user log in)' })
