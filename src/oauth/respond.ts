import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from '@sinclair/typebox'

// Every answer of the OAuth endpoints has RFC 6749's shape, errors included
// (§5.2 `{error, error_description}`), and is never cached (§5.1).

/** The OAuth endpoints' error body (RFC 6749 §5.2), a shared schema like RestError. */
export const OAuthError = Type.Object({
  error: Type.String({ description: 'RFC 6749 §5.2 code, or slow_down, temporarily_unavailable, server_error.', examples: ['invalid_client'] }),
  error_description: Type.String()
}, { $id: 'OAuthError', title: 'OAuthError', description: 'An OAuth endpoint\'s error (RFC 6749 §5.2).', additionalProperties: false })

export const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const

const OAUTH_ERRORS = new Set(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'])
/** Fastify's and the gateway's request errors, which say the request itself is malformed. */
const MALFORMED = new Set(['FST_ERR_VALIDATION', 'FST_ERR_CTP_BODY_TOO_LARGE', 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'FST_ERR_CTP_EMPTY_JSON_BODY',
  'FST_ERR_CTP_INVALID_JSON_BODY', 'GW_ERR_BAD_REQUEST', 'GW_ERR_BODY_TOO_LARGE', 'GW_ERR_FORM_BODY_REFUSED'])
const UNAVAILABLE = new Set(['GW_ERR_STORE_UNAVAILABLE', 'GW_ERR_BRIDGE_UNAVAILABLE', 'GW_ERR_UPSTREAM_UNAVAILABLE', 'GW_ERR_PROVIDER_UNAVAILABLE'])

/** Marks an invalid_client answer that must challenge for Basic (the client tried it, or sent no authentication: RFC 6749 §5.2). */
export const withChallenge = <E extends Error>(err: E): E => Object.assign(err, { challenge: true })

export function sendOAuthError (request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const e = err as FastifyError & { retryAfter?: number, challenge?: boolean }
  // @fastify/error upper-cases codes; the RFC's are lower-case.
  const code = OAUTH_ERRORS.has((e.code ?? '').toLowerCase()) ? e.code!.toLowerCase() : e.code ?? ''
  let status: number
  let error: string
  let description = e.message
  if (OAUTH_ERRORS.has(code)) {
    status = e.statusCode ?? 400
    error = code
  } else if (code === 'GW_ERR_TOO_MANY_ATTEMPTS') {
    // No RFC 6749 code says "too many failures"; slow_down (RFC 8628 §3.5, in the OAuth errors registry) is the nearest.
    status = 429
    error = 'slow_down'
    void reply.header('retry-after', String(e.retryAfter ?? 1))
  } else if (MALFORMED.has(code)) {
    status = e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 400
    error = 'invalid_request'
  } else if (UNAVAILABLE.has(code)) {
    status = 503
    error = 'temporarily_unavailable'
  } else {
    request.log.error({ err }, 'OAuth request failed')
    status = 500
    error = 'server_error'
    description = 'Internal server error.'
  }
  if (UNAVAILABLE.has(code)) request.log.warn({ code, cause: e.cause instanceof Error ? e.cause.message : undefined }, e.message)
  request.audit = { ...request.audit, code: code.startsWith('GW_ERR_') ? code : error }
  if (error === 'invalid_client' && e.challenge === true) void reply.header('www-authenticate', 'Basic realm="wp-auth-gateway"')
  return reply.code(status).headers(NO_STORE).send({ error, error_description: description })
}
