import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Identity } from './authenticate/identity.js'
import { AuditStream, type AuditRecord, type AuditResult } from '../audit/stream.js'

// Stage 6 (docs/architecture.md §3): one decision per request, recorded when
// the answer has gone: who (the method used, the user, client or key), what
// (route, method), the outcome (status, the refusal's code) and how long it
// took. It goes to the audit stream (README, "Audit trail"), off the hot
// path, and to a log line at `audit.logLevel`; metrics read the same facts.
// Admin actions and the bridge's events go to the same stream.

export interface AuditFacts {
  identity?: Identity | null
  /** The gateway's own endpoint or action, where no REST route applies. */
  action?: string
  /** The code of a refusal (GW_ERR_…), set by the error handler. */
  code?: string
}

export interface Audit {
  /** Records an admin action (who did what to what) in the stream and the log. */
  action: (request: FastifyRequest, action: string, target: string, detail?: Record<string, unknown>, actor?: string) => void
  /** Records something that happened outside a request's decision (a bridge event). */
  event: (entry: Omit<AuditRecord, 't' | 'kind'>) => void
  /** Writes what is queued now (tests, shutdown). */
  flush: () => Promise<void>
  /** The writer, for its counters (metrics). */
  readonly stream: AuditStream | null
}

declare module 'fastify' {
  interface FastifyRequest {
    audit: AuditFacts | null
  }
  interface FastifyInstance {
    audit: Audit
  }
}

const QUIET = new Set(['/_gateway/healthz', '/_gateway/readyz', '/_gateway/metrics'])
/** Read by the dashboard every few seconds: recorded only when refused, or the trail would be mostly itself. */
const QUIET_WHEN_ALLOWED = new Set(['/_gateway/admin/audit', '/_gateway/admin/analytics'])

/**
 * What the gateway decided: WordPress's own answers are allowed requests
 * whatever their status; the gateway's 4xx are refusals, its 5xx errors.
 */
export function decisionResult (request: FastifyRequest, status: number): AuditResult {
  const forwarded = request.gateway?.forwardedMs !== undefined
  if (request.audit?.code === undefined && (forwarded || status < 400)) return 'allowed'
  return status >= 500 ? 'error' : 'refused'
}

/** A request's entry in the trail. */
export function auditRecord (request: FastifyRequest, status: number, ms: number): AuditRecord {
  const ctx = request.gateway
  const facts = request.audit
  const identity = facts?.identity ?? ctx?.identity ?? null
  const ua = request.headers['user-agent']
  const record: AuditRecord = {
    kind: 'request',
    t: Date.now(),
    result: decisionResult(request, status),
    status,
    http_method: ctx?.resolved.method ?? request.method,
    route: ctx === null ? facts?.action ?? request.routeOptions.url ?? request.url.split('?', 1)[0]! : ctx.resolved.route ?? ctx.resolved.path,
    ms: Math.round(ms * 100) / 100,
    ip: request.ip
  }
  if (facts?.code !== undefined) record.code = facts.code
  const pattern = ctx?.decision?.pattern
  if (ctx?.decision !== undefined) record.rule = pattern ?? 'default'
  if (identity !== null) {
    record.via = identity.method
    if (/^[1-9]\d*$/.test(identity.userId)) record.user = Number(identity.userId)
    if (identity.clientId !== undefined) record.client = identity.clientId
    if (identity.keyId !== undefined) record.key = identity.keyId
  }
  if (typeof ua === 'string' && ua !== '') record.user_agent = ua.length > 256 ? ua.slice(0, 256) : ua
  return record
}

async function audit (app: FastifyInstance): Promise<void> {
  const { logLevel, stream: streamConfig } = app.config.audit
  app.decorateRequest('audit', null)
  const stream = streamConfig.enabled
    ? new AuditStream(app.store, {
      maxEntries: streamConfig.maxEntries,
      retentionMs: streamConfig.retentionHours * 3_600_000,
      flushMs: streamConfig.flushMs,
      bufferEntries: streamConfig.bufferEntries
    }, app.log)
    : null
  const log = logLevel === 'silent' ? null : logLevel

  app.decorate('audit', {
    stream,
    action (request, action, target, detail = {}, actor = request.adminActor ?? 'unknown') {
      request.log.info({ audit: { action, actor, target, ...detail } }, 'audit: action')
      stream?.record({ kind: 'admin', t: Date.now(), action, actor, target, ip: request.ip, ...(Object.keys(detail).length === 0 ? {} : { detail }) })
    },
    event (entry) {
      stream?.record({ kind: 'event', t: Date.now(), ...entry })
    },
    async flush () { await stream?.flush() }
  } satisfies Audit)

  if (stream !== null) {
    stream.start()
    app.addHook('onClose', async () => { await stream.stop() })
  }
  if (stream === null && log === null) return
  app.addHook('onResponse', (request, reply, done) => {
    const url = request.routeOptions.url
    if (url !== undefined && QUIET.has(url)) return done()
    const record = auditRecord(request, reply.statusCode, reply.elapsedTime)
    if (url !== undefined && QUIET_WHEN_ALLOWED.has(url) && record.result === 'allowed') return done()
    stream?.record(record)
    if (log !== null) request.log[log]({ decision: record }, 'decision')
    done()
  })
}

export default fp(audit, { name: 'audit', dependencies: ['store'] })
