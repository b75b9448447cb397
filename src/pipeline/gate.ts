import type { FastifyRequest } from 'fastify'
import { BadRequest, RouteDisabled, RouteNotFound } from '../errors.js'
import type { FileConfig } from '../config/schema.js'
import type { AuthenticationChain, Identity } from './authenticate/index.js'
import { authorize } from './authorize.js'
import type { Decision, Policy } from './policy.js'
import { isPending, resolveHead, withBody, type Pending, type Resolved, type ResolveOptions } from './resolve/index.js'
import { checkHeaders } from './resolve/headers.js'
import { checkDeclaredLength } from './body-limit.js'
import { BATCH_ROUTE, judgeBatch } from './batch.js'
import type { RateLimits } from '../throttle/rate-limits.js'

export interface GatewayContext {
  resolved: Resolved
  identity: Identity | null
  /** A batch's sub-requests as authorised, for the assertion (`bat`). */
  batch?: Array<[string, string]>
  /** What the body must still settle: a POST form's rest_route, or a batch. */
  pending?: Pending | 'batch'
  /** Set while nothing but the body can decide the request (a POST form to the front controller). */
  undecided?: true
  /** The policy's decision for a REST request (its rule names the route in metrics). */
  decision?: Decision
  /** The request's age (ms) when it went to WordPress, and how long WordPress took to answer (metrics). */
  forwardedMs?: number
  upstreamMs?: number
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: GatewayContext | null
  }
}

export interface GateOptions {
  policy: Policy
  auth: AuthenticationChain
  site: FileConfig['site']
  bodyLimit: number
  resolve: ResolveOptions
  limits: RateLimits
}

export interface Gate {
  /**
   * preParsing: everything the head decides, before a byte of the body is
   * read. Synchronous unless something needs I/O (an authenticator asking
   * WordPress, a rate limit in Redis): the common request never waits on a promise.
   */
  head: (request: FastifyRequest) => void | Promise<void>
  /** What only the body can settle, when the head left it open (needsBody). */
  body: (request: FastifyRequest) => Promise<void>
  /**
   * Stages 1-4 for a request described rather than sent (POST
   * /_gateway/admin/explain): the same decision, without forwarding and
   * without counting against rate limits. `request` carries the
   * credentials, the caller's address and scheme. Resolves with what was
   * decided and the refusal, if any; the context holds as much as was
   * settled before it (null: the request could not even be resolved).
   */
  explain: (request: FastifyRequest, method: string, url: string) => Promise<{ context: GatewayContext | null, error: Error | null }>
}

/**
 * Stages 1-4 for every request WordPress is to answer: resolve, policy,
 * authenticate, authorize. Throwing stops the request before it is forwarded.
 * A request the head already refuses (a disabled route, a missing login) is
 * refused without its body ever being read.
 */
export function createGate ({ policy, auth, site, bodyLimit, resolve, limits }: GateOptions): Gate {
  function decide (request: FastifyRequest, resolved: Resolved, count = true): GatewayContext | Promise<GatewayContext> {
    // Known to the audit stage even when what follows refuses the request.
    request.gateway = { ...request.gateway, resolved, identity: null }
    if (resolved.kind === 'site') {
      if (resolved.page !== 'other' && site[resolved.page] === 'block') throw new RouteDisabled()
      // Not the REST API: forwarded without identity, with a site assertion
      // that lets WordPress dispatch no REST request at all.
      return { resolved, identity: null }
    }
    // The gateway's own endpoints are served only at their canonical paths,
    // and the bridge's internal routes never; neither is forwarded.
    if (resolved.kind !== 'rest') throw new RouteNotFound()
    const decision = policy.decide(resolved.route, resolved.method)
    request.gateway.decision = decision
    if (decision.access === 'deny') authorize(decision, null)
    const identity = auth.authenticate(request)
    return identity instanceof Promise
      ? identity.then((id) => settle(request, resolved, decision, id, count))
      : settle(request, resolved, decision, identity, count)
  }

  function settle (request: FastifyRequest, resolved: Resolved, decision: Decision, identity: Identity | null, count: boolean): GatewayContext | Promise<GatewayContext> {
    request.gateway!.identity = identity
    authorize(decision, identity)
    const ctx: GatewayContext = { resolved, identity, decision }
    if (isBatch(resolved)) ctx.pending = 'batch'
    if (decision.rateLimit === undefined || !count) return ctx
    return limits.consume(decision.rateLimit, identity, request.ip).then(() => ctx)
  }

  return {
    head (request) {
      const headers = request.headers
      checkDeclaredLength(headers['content-length'], bodyLimit)
      checkHeaders(request.raw, auth.guardedHeaders)
      const method = request.raw.method ?? ''
      // WordPress reads a JSON body even on GET (WP_REST_Request::get_parameter_order); no GET or HEAD carries one through here.
      if ((method === 'GET' || method === 'HEAD') && (headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0')) {
        throw new BadRequest('GET and HEAD requests may not carry a body.')
      }
      const head = resolveHead(method, request.raw.url ?? '/', headers, resolve)
      if (!isPending(head)) {
        const ctx = decide(request, head)
        if (ctx instanceof Promise) return ctx.then((c) => { request.gateway = c })
        request.gateway = ctx
        return undefined
      }
      // A POST form. Its body can only confirm or refuse what the head says,
      // except on the front controller's own path, where its rest_route may
      // still make a site request a REST request: decided once it is read.
      if (head.resolved.kind !== 'rest' && head.front) {
        request.gateway = { resolved: head.resolved, identity: null, pending: head, undecided: true }
        return undefined
      }
      const ctx = decide(request, head.resolved)
      if (ctx instanceof Promise) return ctx.then((c) => { request.gateway = { ...c, pending: head } })
      request.gateway = { ...ctx, pending: head }
      return undefined
    },

    async body (request) {
      const ctx = request.gateway!
      const { pending } = ctx
      if (pending === undefined) return
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      if (pending !== 'batch') {
        const resolved = withBody(pending, body, request.headers, resolve)
        if (ctx.undecided === true || resolved !== ctx.resolved) Object.assign(ctx, await decide(request, resolved))
      }
      if (isBatch(ctx.resolved)) {
        ctx.batch = judgeBatch(body, request.headers, ctx.resolved.query, resolve.maxVars, policy, ctx.identity)
        // Each sub-request counts against its own route's limit, as if sent alone.
        for (const [method, route] of ctx.batch) {
          const { rateLimit } = policy.decide(route, method)
          if (rateLimit !== undefined) await limits.consume(rateLimit, ctx.identity, request.ip)
        }
      }
      delete ctx.pending
      delete ctx.undecided
    },

    async explain (request, method, url) {
      try {
        const head = resolveHead(method, url, request.headers, resolve)
        // A described request has no body: a POST form's head is all there is to judge.
        await decide(request, isPending(head) ? head.resolved : head, false)
        return { context: request.gateway!, error: null }
      } catch (err) {
        return { context: request.gateway, error: err as Error }
      }
    }
  }
}

const isBatch = (r: Resolved): boolean => r.kind === 'rest' && r.route === BATCH_ROUTE && r.method === 'POST'

/** Whether the body of this request must be read before it is forwarded. */
export const needsBody = (request: FastifyRequest): boolean => request.gateway?.pending !== undefined
