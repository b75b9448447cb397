import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { restErrorBody } from './errors.js'

const TOKEN_ERRORS = new Set(['GW_ERR_TOKEN_MALFORMED', 'GW_ERR_TOKEN_INVALID', 'GW_ERR_TOKEN_EXPIRED', 'GW_ERR_API_KEY_INVALID', 'GW_ERR_API_KEY_EXPIRED', 'GW_ERR_API_KEY_REVOKED'])
// Our own 5xx errors carry messages written for clients; everything else is hidden.
const SAFE_5XX = new Set(['GW_ERR_UPSTREAM_UNAVAILABLE', 'GW_ERR_STORE_UNAVAILABLE', 'GW_ERR_BRIDGE_UNAVAILABLE', 'GW_ERR_PROVIDER_UNAVAILABLE', 'GW_ERR_CAPTCHA_UNAVAILABLE'])
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_VALIDATION: 'GW_ERR_BAD_REQUEST',
  FST_ERR_CTP_BODY_TOO_LARGE: 'GW_ERR_BODY_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'GW_ERR_UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'GW_ERR_BAD_REQUEST',
  FST_ERR_CTP_INVALID_JSON_BODY: 'GW_ERR_BAD_REQUEST'
}

/**
 * Warnings for our own 5xx (a store or WordPress that cannot answer), with
 * the cause's name and text (`ReplyError: READONLY You can't write against a
 * read only replica.`), never a secret, and at most one line per cause every
 * few seconds: an outage makes every request fail the same way.
 */
class ThrottledWarnings {
  readonly #last = new Map<string, { at: number, suppressed: number }>()
  readonly #intervalMs: number

  constructor (intervalMs = 5000) {
    this.#intervalMs = intervalMs
  }

  warn (request: FastifyRequest, code: string, err: FastifyError): void {
    const cause = err.cause instanceof Error ? `${err.cause.name}: ${err.cause.message}` : undefined
    const key = `${code}\0${cause ?? ''}`
    const now = Date.now()
    const seen = this.#last.get(key)
    if (seen !== undefined && now - seen.at < this.#intervalMs) {
      seen.suppressed++
      return
    }
    if (this.#last.size > 1000) this.#last.clear()
    this.#last.set(key, { at: now, suppressed: 0 })
    request.log.warn({ code, cause, ...(seen !== undefined && seen.suppressed > 0 ? { suppressed: seen.suppressed } : {}) }, cause === undefined ? err.message : `${err.message} (${cause})`)
  }
}

/**
 * One error handler: WordPress's REST error shape, stable codes, a
 * WWW-Authenticate challenge on 401 (RFC 6750 §3), no detail on 5xx.
 */
async function errorHandler (app: FastifyInstance): Promise<void> {
  const throttled = new ThrottledWarnings()
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const status = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500
    const code = err.code === undefined ? undefined : FASTIFY_CODES[err.code] ?? err.code
    const auditCode = status >= 500 && (code === undefined || !SAFE_5XX.has(code)) ? 'GW_ERR_INTERNAL' : code?.startsWith('GW_ERR_') === true ? code : 'GW_ERR_BAD_REQUEST'
    // Most refusals come before anything else was noted: no copy then.
    request.audit = request.audit === null ? { code: auditCode } : { ...request.audit, code: auditCode }
    if (status >= 500 && (code === undefined || !SAFE_5XX.has(code))) {
      request.log.error({ err }, 'request failed')
      return send(reply, 500, 'GW_ERR_INTERNAL', 'Internal server error.')
    }
    if (status >= 500) throttled.warn(request, code!, err)
    const retryAfter = (err as { retryAfter?: unknown }).retryAfter
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter))
    if (status === 401) {
      const own = (err as { challenge?: unknown }).challenge
      const challenge = typeof own === 'string'
        ? own
        : code !== undefined && TOKEN_ERRORS.has(code)
          ? 'Bearer realm="wp-auth-gateway", error="invalid_token"'
          : 'Bearer realm="wp-auth-gateway"'
      void reply.header('www-authenticate', challenge)
    }
    return send(reply, status, code?.startsWith('GW_ERR_') === true ? code : 'GW_ERR_BAD_REQUEST', err.message)
  })

  app.setNotFoundHandler((_request, reply) => send(reply, 404, 'GW_ERR_ROUTE_NOT_FOUND', 'No route was found matching the URL and request method.'))
}

// The bodies, serialised once per status, code and message: the same few
// refusals are sent over and over (a flood of bad tokens is all one body).
// Messages with details in them (`%s`) vary: a few per code are kept.
const BODIES = new Map<string, Map<string, { status: number, body: string }>>()
const BODIES_PER_CODE = 16

function bodyOf (status: number, code: string, message: string): string {
  let byMessage = BODIES.get(code)
  if (byMessage === undefined) BODIES.set(code, byMessage = new Map())
  const known = byMessage.get(message)
  if (known !== undefined && known.status === status) return known.body
  const body = JSON.stringify(restErrorBody(code, message, status))
  if (known === undefined && byMessage.size < BODIES_PER_CODE) byMessage.set(message, { status, body })
  return body
}

function send (reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').header('content-type', 'application/json; charset=utf-8').send(bodyOf(status, code, message))
}

export default fp(errorHandler, { name: 'error-handler' })
