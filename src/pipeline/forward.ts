import type { FastifyInstance, FastifyRequest } from 'fastify'
import proxy from '@fastify/http-proxy'
import type { IncomingHttpHeaders } from 'node:http'
import type { Http2ServerRequest, IncomingHttpHeaders as Http2Headers } from 'node:http2'
import { Readable } from 'node:stream'
import { ASSERTION_HEADER, type AssertionFacts, type AssertionSigner } from '../bridge/assertion.js'
import { BodyTooLarge, UpstreamUnavailable } from '../errors.js'
import { limitStream } from './body-limit.js'
import { METHODS } from './resolve/index.js'
import { forwardable } from './resolve/headers.js'
import { withoutLoginCookies } from './login-cookies.js'
import { filteredEmbeds } from './embed-filter.js'
import { needsBody, type Gate, type GatewayContext } from './gate.js'
import type { Policy } from './policy.js'

export interface ForwardOptions {
  upstream: URL
  signer: AssertionSigner
  /** The credential headers, lower-case: never forwarded. */
  guardedHeaders: ReadonlySet<string>
  /**
   * With tracing on, the trace headers its propagator writes on the upstream
   * request (traceparent, …): the client's are not copied, or WordPress would
   * get two. The client's trace is continued all the same: the request's span
   * is its child. Tracing off: the client's pass through as they came.
   */
  propagatedHeaders?: ReadonlySet<string> | undefined
  timeoutMs: number
  connections: number
  bodyLimit: number
  policy: Policy
  gate: Gate
  /** Prefixes of WordPress's login cookie names, taken out of REST requests not authenticated by cookie. */
  loginCookies: readonly string[]
}

const IDENTITY_PREFIX = 'x-wp-gateway'
// Headers WordPress or PHP would take as facts about the request that only
// the gateway may state: IIS's original URL (wp_fix_server_vars, load.php).
const DROPPED = new Set(['x-original-url', 'x-rewrite-url', 'forwarded', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-for'])
type IncomingMessageLike = import('node:http').IncomingMessage | Http2ServerRequest

/**
 * Stage 5 (docs/architecture.md §3): strip every inbound credential and identity header,
 * add the assertion, stream to WordPress and back, over kept-alive
 * connections.
 */
export default async function forward (app: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const { signer, guardedHeaders } = opts
  const propagated = opts.propagatedHeaders ?? new Set<string>()

  // Stages 1-4 on the head, before the body is read.
  app.addHook('preParsing', async (request) => { await opts.gate.head(request) })

  // Bodies stream through untouched, except where the gateway must read them
  // first (a POST form to the front controller may name its route, a batch
  // its sub-requests): those are buffered, up to the limit.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (request, payload, done) => {
    if (!needsBody(request)) {
      done(null, payload)
      return
    }
    readAll(payload, opts.bodyLimit).then((body) => { done(null, body) }, done)
  })

  // Only names of letters, digits and `-` go on: their CGI variable is their
  // own (resolve/headers.ts). Credentials, identity and the facts only the
  // gateway states never do.
  const stripped = (name: string): boolean => !forwardable(name) || name.startsWith(IDENTITY_PREFIX) || guardedHeaders.has(name) || DROPPED.has(name)
  // Tracing off: the very same test as without tracing, not one more look-up per header.
  const strip = propagated.size === 0 ? stripped : (name: string): boolean => stripped(name) || propagated.has(name)

  function rewriteRequestHeaders (request: FastifyRequest<any, any, IncomingMessageLike>, headers: IncomingHttpHeaders | Http2Headers): IncomingHttpHeaders {
    const out: IncomingHttpHeaders = {}
    for (const name in headers) if (!strip(name)) out[name] = headers[name]
    const ctx = request.gateway!
    out[ASSERTION_HEADER] = signer.assert(assertionFacts(ctx, opts.policy))
    // An answer with embedded resources is read before it leaves: uncompressed, please.
    if (ctx.resolved.kind === 'rest' && ctx.resolved.embed) delete out['accept-encoding']
    if (ctx.resolved.kind === 'rest' && ctx.identity?.via !== 'cookie' && typeof out.cookie === 'string') {
      const cookie = withoutLoginCookies(out.cookie, opts.loginCookies)
      if (cookie === undefined) delete out.cookie
      else out.cookie = cookie
    }
    // WordPress builds links and canonical redirects from the Host it sees; the
    // client's, not the internal upstream name (reply-from sets the latter).
    const host = request.headers.host
    if (host !== undefined) out.host = out['x-forwarded-host'] = host
    out['x-forwarded-for'] = request.ip
    // Debian's wp-config.php turns HTTPS on for X-Forwarded-Proto: https; only the gateway says so.
    out['x-forwarded-proto'] = request.protocol
    return out
  }

  // WordPress's own REST API and site pass through here: not the gateway's endpoints, so not in its OpenAPI document.
  app.addHook('onRoute', (route) => { route.schema = { ...route.schema, hide: true } })

  await app.register(proxy, {
    upstream: opts.upstream.origin,
    prefix: '/',
    httpMethods: [...METHODS],
    preHandler: async (request) => { await opts.gate.body(request) },
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
    // Send exactly the URL the resolve stage classified: the path and query
    // as the client sent them, which the resolve stage accepted as they are.
    handler: (request, reply, _dest, options) => {
      const ctx = request.gateway!
      ctx.forwardedMs = reply.elapsedTime
      const { path } = ctx.resolved
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
      queryString: (_search, _url, request) => request.gateway!.resolved.query,
      // WordPress answers every origin with credentials allowed
      // (rest_send_cors_headers); cross-origin access is the gateway's call.
      rewriteHeaders: (headers) => {
        for (const name of Object.keys(headers)) if (name.startsWith('access-control-')) delete headers[name]
        return headers
      },
      // Answers with embedded resources are checked before they leave (embed-filter.ts).
      onResponse: (request, reply, res) => {
        const ctx = request.gateway!
        ctx.upstreamMs = reply.elapsedTime - (ctx.forwardedMs ?? 0)
        if (ctx.resolved.kind !== 'rest' || !ctx.resolved.embed || !/json/i.test(String(reply.getHeader('content-type') ?? ''))) {
          void reply.send(res.stream)
          return
        }
        filteredEmbeds(res.stream, opts.policy, ctx.identity).then((body) => {
          void reply.removeHeader('content-length').send(body)
        }, (err: Error) => {
          reply.log.warn({ err }, 'an answer with embedded resources could not be checked')
          void reply.send(new UpstreamUnavailable())
        })
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

/** What the assertion states: the authorised REST dispatch, or a site page that may dispatch none. */
function assertionFacts (ctx: GatewayContext, policy: Policy): AssertionFacts {
  const { resolved, identity } = ctx
  if (resolved.kind !== 'rest') return { via: 'none', mth: resolved.method }
  return {
    sub: identity?.userId,
    via: identity?.via ?? 'none',
    mth: resolved.method,
    rte: resolved.route,
    ...(resolved.embed ? { emb: policy.embedView(identity) } : {}),
    ...(ctx.batch === undefined ? {} : { bat: ctx.batch })
  }
}

async function readAll (stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of stream) {
    size += (chunk as Buffer).length
    if (size > limit) throw new BodyTooLarge()
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
