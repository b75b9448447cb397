import type { FastifyInstance, FastifyRequest } from 'fastify'
import proxy from '@fastify/http-proxy'
import type { IncomingHttpHeaders } from 'node:http'
import type { Http2ServerRequest, IncomingHttpHeaders as Http2Headers } from 'node:http2'
import { ASSERTION_HEADER, type AssertionSigner } from '../bridge/assertion.js'
import { Readable } from 'node:stream'
import { BodyTooLarge, UpstreamUnavailable } from '../errors.js'
import { limitStream } from './body-limit.js'
import { METHODS } from './resolve.js'
import type { GatePreHandler } from './gate.js'
import type { Policy } from './policy.js'

export interface ForwardOptions {
  upstream: URL
  signer: AssertionSigner
  /** The configured credential header, lower-case. */
  authHeader: string
  timeoutMs: number
  connections: number
  bodyLimit: number
  policy: Policy
  preHandler: GatePreHandler
}

const IDENTITY_PREFIX = 'x-wp-gateway'
type IncomingMessageLike = import('node:http').IncomingMessage | Http2ServerRequest

/**
 * Stage 5 (DESIGN §2): strip every inbound credential and identity header,
 * add the assertion, stream to WordPress and back, over kept-alive
 * connections.
 */
export default async function forward (app: FastifyInstance, opts: ForwardOptions): Promise<void> {
  // Bodies stream through untouched, except form bodies: PHP reads
  // `rest_route` from them (resolve stage), so they are buffered, up to the limit.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(['application/x-www-form-urlencoded', 'multipart/form-data'], { parseAs: 'buffer', bodyLimit: opts.bodyLimit }, (_request, body, done) => { done(null, body) })
  app.addContentTypeParser('*', (_request, payload, done) => { done(null, payload) })

  const { signer, authHeader } = opts
  const credentials = new Set(['authorization', 'proxy-authorization', authHeader])

  // PHP turns `-` and `_` alike into `_` in $_SERVER (HTTP_X_WP_GATEWAY_ASSERTION),
  // so `X_WP_Gateway_Assertion` would reach the bridge as the real thing, and
  // `X_HTTP_Method_Override` as the override the resolve stage never read.
  const strip = (name: string): boolean => {
    if (name.startsWith(IDENTITY_PREFIX) || credentials.has(name)) return true
    if (!name.includes('_')) return false
    const dashed = name.replaceAll('_', '-')
    return dashed.startsWith(IDENTITY_PREFIX) || credentials.has(dashed) || dashed === 'x-http-method-override'
  }

  function rewriteRequestHeaders (request: FastifyRequest<any, any, IncomingMessageLike>, headers: IncomingHttpHeaders | Http2Headers): IncomingHttpHeaders {
    const out: IncomingHttpHeaders = {}
    for (const name in headers) if (!strip(name)) out[name] = headers[name]
    const ctx = request.gateway
    if (ctx !== null && ctx.resolved.kind === 'rest') {
      out[ASSERTION_HEADER] = signer.assert({
        sub: ctx.identity?.userId,
        via: ctx.identity?.via ?? 'none',
        mth: ctx.resolved.method,
        rte: ctx.resolved.route,
        ...(ctx.resolved.embed ? { emb: opts.policy.embedView(ctx.identity) } : {})
      })
    }
    // WordPress builds links and canonical redirects from the Host it sees; the
    // client's, not the internal upstream name (reply-from sets the latter).
    const host = request.headers.host
    if (host !== undefined) out.host = out['x-forwarded-host'] = host
    out['x-forwarded-for'] = request.ip
    out['x-forwarded-proto'] = request.protocol
    return out
  }

  await app.register(proxy, {
    upstream: opts.upstream.origin,
    prefix: '/',
    httpMethods: [...METHODS],
    preHandler: opts.preHandler,
    proxyPayloads: false,
    // reply-from logs every forwarded request at info level; the audit stage records decisions instead.
    disableRequestLogging: true,
    undici: {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs
    },
    // Send exactly the URL the resolve stage classified; http-proxy would
    // otherwise re-serialise the query string and WordPress could read
    // something the gateway never judged.
    handler: (request, reply, _dest, options) => {
      const { path } = request.gateway!.resolved
      if (Buffer.isBuffer(request.body)) {
        // Buffered bodies (forms, batch) go back out as the same bytes: as a
        // Buffer, reply-from would re-encode it and drop the multipart boundary.
        request.body = Readable.from([request.body])
      } else if (request.body instanceof Readable && request.headers['content-length'] === undefined) {
        request.body = limitStream(request.body, opts.bodyLimit)
      }
      return reply.from(path, options)
    },
    replyOptions: {
      rewriteRequestHeaders,
      // The query exactly as the client sent it (and the resolve stage read it).
      queryString: (_search, _url, request) => request.gateway!.resolved.query,
      // WordPress answers every origin with credentials allowed
      // (rest_send_cors_headers); cross-origin access is the gateway's call.
      rewriteHeaders: (headers) => {
        for (const name of Object.keys(headers)) if (name.startsWith('access-control-')) delete headers[name]
        return headers
      },
      onError: (reply, { error }) => {
        if (error instanceof BodyTooLarge || (error as { cause?: unknown }).cause instanceof BodyTooLarge) {
          void reply.send(new BodyTooLarge())
          return
        }
        reply.log.warn({ err: error }, 'WordPress did not answer')
        void reply.send(new UpstreamUnavailable())
      }
    }
  })
}
