import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { IncomingHttpHeaders, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { Pool, type Dispatcher } from 'undici'
import { ASSERTION_HEADER, type AssertionFacts, type AssertionSigner } from '../bridge/assertion.js'
import { BodyTooLarge, UpstreamUnavailable } from '../errors.js'
import { limitStream } from './body-limit.js'
import { METHODS } from './resolve/index.js'
import { forwardable } from './resolve/headers.js'
import { withoutLoginCookies } from './login-cookies.js'
import { EMBED_LIMIT, filteredEmbeds } from './embed-filter.js'
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
// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, not to the
// request: never copied from one side to the other. `expect` too: Node has
// already answered the client's 100-continue.
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'expect']
// Headers WordPress or PHP would take as facts about the request that only
// the gateway may state: IIS's original URL (wp_fix_server_vars, load.php),
// the address, host and scheme the client used (set below), and the Host itself.
const STATED = ['x-original-url', 'x-rewrite-url', 'forwarded', 'x-forwarded-host', 'x-forwarded-proto', 'x-forwarded-for', 'host']
const RESPONSE_DROPPED = new Set(HOP_BY_HOP.filter((name) => name !== 'expect'))
const PLAIN_CONNECTION = /^\s*(?:keep-alive|close)\s*$/i

/**
 * Stage 5 (docs/architecture.md §3): strip every inbound credential and
 * identity header, add the assertion, stream to WordPress and back over
 * kept-alive connections.
 *
 * undici's pool is driven directly (a dispatch handler, no Readable in
 * between): the answer's head goes out in one writeHead with the raw header
 * list, and each chunk is written as it arrives, WordPress paused while the
 * client is slower. @fastify/http-proxy did the same work through
 * reply-from, a response stream and Fastify's stream sending, at about
 * twice the CPU per request (bench/analysis.md).
 */
export default async function forward (app: FastifyInstance, opts: ForwardOptions): Promise<void> {
  const { signer, policy } = opts
  const pool = new Pool(opts.upstream.origin, {
    connections: opts.connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs
  })
  app.addHook('onClose', async () => { await pool.destroy() })

  // Stages 1-4 on the head, before the body is read. A callback hook: most
  // requests are decided without I/O, and then without a promise.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    let pending: void | Promise<void>
    try {
      pending = opts.gate.head(request)
    } catch (err) {
      done(err as Error)
      return
    }
    if (pending === undefined) done(null, payload)
    else pending.then(() => { done(null, payload) }, done)
  })

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
  // own (resolve/headers.ts). Credentials, identity, hop-by-hop headers and
  // the facts only the gateway states never do. One set, one look-up per header.
  const never = new Set([...HOP_BY_HOP, ...STATED, ...opts.guardedHeaders, ...(opts.propagatedHeaders ?? [])])
  const stripped = (name: string): boolean => never.has(name) || name.startsWith(IDENTITY_PREFIX) || !forwardable(name)

  /** The headers WordPress gets, in one pass over the client's. */
  function upstreamHeaders (request: FastifyRequest, ctx: GatewayContext): IncomingHttpHeaders {
    const headers = request.headers
    const out: IncomingHttpHeaders = {}
    for (const name in headers) if (!stripped(name)) out[name] = headers[name]
    // The names a client's Connection header lists go on (its own hop-by-hop
    // ones are gone already): the gate read the request with them, and
    // WordPress must read the same request.
    out[ASSERTION_HEADER] = signer.assert(assertionFacts(ctx, policy))
    const { resolved } = ctx
    if (resolved.kind === 'rest') {
      // An answer with embedded resources is read before it leaves: uncompressed, please.
      if (resolved.embed) delete out['accept-encoding']
      if (ctx.identity?.via !== 'cookie' && typeof out.cookie === 'string') {
        const cookie = withoutLoginCookies(out.cookie, opts.loginCookies)
        if (cookie === undefined) delete out.cookie
        else out.cookie = cookie
      }
    }
    // WordPress builds links and canonical redirects from the Host it sees: the client's, not the upstream's name.
    const host = headers.host
    if (host !== undefined) out.host = out['x-forwarded-host'] = host
    out['x-forwarded-for'] = request.ip
    // Debian's wp-config.php turns HTTPS on for X-Forwarded-Proto: https; only the gateway says so.
    out['x-forwarded-proto'] = request.protocol
    return out
  }

  function handler (request: FastifyRequest, reply: FastifyReply): void {
    // What only the body can settle (a form's rest_route, a batch) is settled first.
    if (needsBody(request)) opts.gate.body(request).then(() => { send(request, reply) }, (err: Error) => { void reply.send(err) })
    else send(request, reply)
  }

  function send (request: FastifyRequest, reply: FastifyReply): void {
    const ctx = request.gateway!
    ctx.forwardedMs = reply.elapsedTime
    const { resolved } = ctx
    const body = request.body
    pool.dispatch({
      method: request.raw.method!,
      // Exactly the path and query the resolve stage classified, as the client sent them.
      path: resolved.query === '' ? resolved.path : `${resolved.path}?${resolved.query}`,
      headers: upstreamHeaders(request, ctx),
      // A buffered body (a form, a batch) goes out as the same bytes; a streamed
      // one as it comes, counted against the limit when its length is not declared.
      body: body instanceof Readable && request.headers['content-length'] === undefined
        ? limitStream(body, opts.bodyLimit)
        : Buffer.isBuffer(body) || body instanceof Readable ? body : null
    }, new Answer(request, reply, resolved.kind === 'rest' && resolved.embed))
  }

  /**
   * One answer from WordPress on its way to the client (undici's dispatch
   * handler). Before its head arrives a failure is the gateway's own error;
   * after, the client's connection is cut, as WordPress's was.
   */
  class Answer implements Dispatcher.DispatchHandler {
    readonly #request: FastifyRequest
    readonly #reply: FastifyReply
    readonly #res: ServerResponse
    /** The answer's chunks, while it has embedded resources to check; null: streamed. */
    #held: Buffer[] | null = null
    #size = 0
    #abort: ((err: Error) => void) | null = null
    #embed: boolean

    constructor (request: FastifyRequest, reply: FastifyReply, embed: boolean) {
      this.#request = request
      this.#reply = reply
      this.#res = reply.raw
      this.#embed = embed
    }

    onConnect (abort: (err?: Error) => void): void {
      this.#abort = abort
    }

    onHeaders (status: number, raw: Buffer[], resume: () => void): boolean {
      if (status < 200) return true // informational: Node has dealt with the client's
      const ctx = this.#request.gateway!
      ctx.upstreamMs = this.#reply.elapsedTime - (ctx.forwardedMs ?? 0)
      const reply = this.#reply
      const res = this.#res
      if (res.destroyed) {
        this.#abort?.(new Error('the client went away'))
        return false
      }
      const out: string[] = []
      let json = false
      let listed: string | null = null
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toString('latin1')
        const lower = name.toLowerCase()
        // WordPress answers every origin with credentials allowed
        // (rest_send_cors_headers); cross-origin access is the gateway's call.
        if (RESPONSE_DROPPED.has(lower) || lower.startsWith('access-control-')) {
          // Node's own servers name keep-alive on every answer: only other names are looked for.
          if (lower === 'connection') {
            const value = raw[i + 1]!.toString('latin1')
            if (!PLAIN_CONNECTION.test(value)) listed = value
          }
          continue
        }
        const value = raw[i + 1]!.toString('latin1')
        if (lower === 'content-type' && /json/i.test(value)) json = true
        out.push(name, value)
      }
      if (listed !== null) dropListed(out, listed)
      // The gateway's own headers (CORS).
      const own = reply.getHeaders()
      for (const name in own) {
        const value = own[name]
        if (Array.isArray(value)) for (const v of value) out.push(name, v)
        else if (value !== undefined) out.push(name, String(value))
      }
      // A connection whose request body was not read to its end cannot take
      // another request; nor can one whose server is shutting down (SIGTERM):
      // the client is told, or it would hold the connection open and the
      // shutdown would wait for its keep-alive to run out.
      if (!this.#request.raw.complete || !this.#request.server.server.listening) out.push('connection', 'close')
      if (this.#embed && json) {
        // Answers with embedded resources are checked before they leave (embed-filter.ts): held whole.
        this.#held = []
        void reply.code(status)
        void reply.headers(headerObject(out))
        return true
      }
      reply.hijack()
      res.writeHead(status, out)
      res.once('close', () => { if (!res.writableFinished) this.#abort?.(new Error('the client went away')) })
      res.on('drain', resume)
      return true
    }

    onData (chunk: Buffer): boolean {
      if (this.#held !== null) {
        this.#size += chunk.length
        if (this.#size > EMBED_LIMIT) {
          this.#held = []
          this.#abort?.(new Error('an answer with embedded resources is too large to check'))
          return false
        }
        this.#held.push(chunk)
        return true
      }
      return this.#res.write(chunk)
    }

    onComplete (): void {
      if (this.#held === null) {
        this.#res.end()
        return
      }
      const ctx = this.#request.gateway!
      filteredEmbeds(Readable.from(this.#held), policy, ctx.identity).then((body) => {
        void this.#reply.send(body)
      }, (err: Error) => {
        void this.#reply.send(new UpstreamUnavailable({ cause: err }))
      })
    }

    onError (err: Error): void {
      const reply = this.#reply
      if (reply.sent) {
        // Mid-answer: the client's answer cannot be completed either.
        this.#res.destroy(err)
        return
      }
      if (err instanceof BodyTooLarge || err.cause instanceof BodyTooLarge) {
        void reply.send(new BodyTooLarge())
        return
      }
      // The error handler warns about it, once every few seconds per cause.
      void reply.send(new UpstreamUnavailable({ cause: err }))
    }
  }

  // WordPress's own REST API and site pass through here: not the gateway's endpoints, so not in its OpenAPI document.
  app.addHook('onRoute', (route) => { route.schema = { ...route.schema, hide: true } })
  for (const url of ['/', '/*']) app.route({ method: [...METHODS], url, handler })
}

/** A flat header list as Fastify takes it: repeated names as arrays, without Content-Length (the body changes). */
function headerObject (out: string[]): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (let i = 0; i < out.length; i += 2) {
    const name = out[i]!.toLowerCase()
    if (name === 'content-length') continue
    const seen = headers[name]
    headers[name] = seen === undefined ? out[i + 1]! : [...(Array.isArray(seen) ? seen : [seen]), out[i + 1]!]
  }
  return headers
}

/** Takes out of a flat header list the names a Connection header lists. */
function dropListed (out: string[], listed: string): void {
  const names = new Set(listed.toLowerCase().split(',').map((n) => n.trim()))
  for (let i = out.length - 2; i >= 0; i -= 2) if (names.has(out[i]!.toLowerCase())) out.splice(i, 2)
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
