import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Identity } from './authenticate/identity.js'

// Stage 6 (docs/architecture.md §3): one decision per request, recorded when
// the answer has gone: who (the method used, the user, client or key), what
// (route, method), the outcome (status, the refusal's code) and how long it
// took. The operations work (stream, metrics) hangs off this one hook; for
// now it is a structured log line at `audit.logLevel`.

export interface AuditFacts {
  identity?: Identity | null
  /** The gateway's own endpoint or action, where no REST route applies. */
  action?: string
  /** The code of a refusal (GW_ERR_…), set by the error handler. */
  code?: string
}

declare module 'fastify' {
  interface FastifyRequest {
    audit: AuditFacts | null
  }
}

const QUIET = new Set(['/_gateway/healthz', '/_gateway/readyz', '/_gateway/metrics'])

/** What a request's audit line says. */
export function auditEntry (request: FastifyRequest, status: number, ms: number): Record<string, unknown> {
  const ctx = request.gateway
  const facts = request.audit
  const identity = facts?.identity ?? ctx?.identity ?? null
  return {
    result: status < 400 ? 'allowed' : 'refused',
    status,
    ...(facts?.code === undefined ? {} : { code: facts.code }),
    httpMethod: request.method,
    ...(ctx === null ? { action: facts?.action ?? request.routeOptions.url } : { route: ctx.resolved.route ?? ctx.resolved.path, method: ctx.resolved.method }),
    ...(identity === null
      ? {}
      : {
          via: identity.method,
          user: identity.userId,
          ...(identity.clientId === undefined ? {} : { client: identity.clientId }),
          ...(identity.keyId === undefined ? {} : { key: identity.keyId })
        }),
    ms: Math.round(ms * 100) / 100,
    ip: request.ip
  }
}

async function audit (app: FastifyInstance): Promise<void> {
  const level = app.config.audit.logLevel
  app.decorateRequest('audit', null)
  if (level === 'silent') return
  const log = level as Exclude<typeof level, 'silent'>
  app.addHook('onResponse', (request, reply, done) => {
    if (!QUIET.has(request.url)) request.log[log]({ decision: auditEntry(request, reply.statusCode, reply.elapsedTime) }, 'decision')
    done()
  })
}

export default fp(audit, { name: 'audit' })
