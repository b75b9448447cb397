import type { FastifyReply, FastifyRequest } from 'fastify'
import { Readable } from 'node:stream'
import { RouteDisabled, RouteNotFound } from '../errors.js'
import type { FileConfig } from '../config/schema.js'
import type { AuthenticationChain, Identity } from './authenticate/index.js'
import type { WordPressCookieAuthenticator } from './authenticate/wp-cookie.js'
import { authorize } from './authorize.js'
import type { Policy } from './policy.js'
import { resolve, type Resolved } from './resolve.js'
import { checkDeclaredLength } from './body-limit.js'
import { BATCH_ROUTE, judgeBatch, readAll } from './batch.js'

export interface GatewayContext {
  resolved: Resolved
  identity: Identity | null
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: GatewayContext | null
  }
}

export type GatePreHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

export interface GateOptions {
  policy: Policy
  auth: AuthenticationChain
  cookies: WordPressCookieAuthenticator | null
  site: FileConfig['site']
  bodyLimit: number
}

/**
 * Stages 1-4 for every request WordPress is to answer: resolve, policy,
 * authenticate, authorize. Throwing stops the request before it is forwarded.
 */
export function createGate ({ policy, auth, cookies, site, bodyLimit }: GateOptions): GatePreHandler {
  return async function gate (request) {
    checkDeclaredLength(request.headers['content-length'], bodyLimit)
    const resolved = resolve(request.raw.method ?? '', request.raw.url ?? '/', request.headers, request.body)
    if (resolved.kind === 'site') {
      if (site[resolved.page as 'xmlrpc' | 'login'] === 'block') throw new RouteDisabled()
      // Not the REST API: passed through without identity; the bridge refuses
      // any REST dispatch that arrives this way without an assertion.
      request.gateway = { resolved, identity: null }
      return
    }
    // The gateway's own endpoints are served only at their canonical paths,
    // and the bridge's internal routes never; neither is forwarded.
    if (resolved.kind !== 'rest') throw new RouteNotFound()
    const decision = policy.decide(resolved.route, resolved.method)
    if (decision.access === 'deny') authorize(decision, null)
    const identity = await auth.authenticate(request) ?? await cookies?.authenticate(request) ?? null
    authorize(decision, identity)
    if (resolved.route === BATCH_ROUTE && resolved.method === 'POST') {
      const body = request.body instanceof Readable ? await readAll(request.body, bodyLimit) : Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
      judgeBatch(body, policy, identity)
      request.body = body
    }
    request.gateway = { resolved, identity }
  }
}
