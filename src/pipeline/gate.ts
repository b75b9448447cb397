import type { FastifyReply, FastifyRequest } from 'fastify'
import { RouteNotFound } from '../errors.js'
import type { AuthenticationChain, Identity } from './authenticate/index.js'
import { authorize } from './authorize.js'
import type { Policy } from './policy.js'
import { resolve, type Resolved } from './resolve.js'
import { checkDeclaredLength } from './body-limit.js'

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

/**
 * Stages 1-4 for every request WordPress is to answer: resolve, policy,
 * authenticate, authorize. Throwing stops the request before it is forwarded.
 */
export function createGate (policy: Policy, auth: AuthenticationChain, bodyLimit: number): GatePreHandler {
  return async function gate (request) {
    checkDeclaredLength(request.headers['content-length'], bodyLimit)
    const resolved = resolve(request.raw.method ?? '', request.raw.url ?? '/', request.headers)
    if (resolved.kind === 'site') {
      // Not the REST API: passed through without identity; the bridge refuses
      // any REST dispatch that arrives this way without an assertion.
      request.gateway = { resolved, identity: null }
      return
    }
    // The gateway's own endpoints are served only at their canonical paths,
    // and the bridge's internal routes never; neither is forwarded.
    if (resolved.kind !== 'rest') throw new RouteNotFound()
    const access = policy.decide(resolved.route, resolved.method)
    if (access === 'deny') authorize(access, null)
    const identity = await auth.authenticate(request)
    authorize(access, identity)
    request.gateway = { resolved, identity }
  }
}
