import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { BadRequest } from '../errors.js'
import { ADMIN, DateTime } from './schemas.js'
import { auditAnalytics, auditPage, type AuditFilter } from '../audit/query.js'

// The audit trail's admin API (README, "Audit trail"), registered inside the
// admin routes so that their guard covers these too.

/** ISO 8601, or milliseconds since the epoch. */
const Time = Type.String({ minLength: 1, maxLength: 40 })
const Id = Type.String({ pattern: '^\\d{1,15}-\\d{1,15}$' })
const Result = Type.Union([Type.Literal('allowed'), Type.Literal('refused'), Type.Literal('error')])
const Kind = Type.Union([Type.Literal('request'), Type.Literal('admin'), Type.Literal('event')])

const AuditQuery = Type.Object({
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  user: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,15}$' })),
  route: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  result: Type.Optional(Result),
  method: Type.Optional(Type.String({ pattern: '^[A-Za-z]{1,16}$' })),
  via: Type.Optional(Type.String({ pattern: '^[a-z]{1,32}$' })),
  kind: Type.Optional(Kind),
  // 1 to 500 (the query string is not coerced: numbers are checked as text).
  limit: Type.String({ pattern: '^(500|[1-4][0-9]{2}|[1-9][0-9]?)$', default: '50' }),
  cursor: Type.Optional(Id),
  after: Type.Optional(Id)
}, { additionalProperties: false })
type AuditQuery = Static<typeof AuditQuery>

const AnalyticsQuery = Type.Object({
  from: Type.Optional(Time),
  to: Type.Optional(Time),
  // Seconds, 1 to 86400.
  bucket: Type.String({ pattern: '^[1-9][0-9]{0,4}$', default: '60' })
}, { additionalProperties: false })
type AnalyticsQuery = Static<typeof AnalyticsQuery>

const AuditEntry = Type.Object({
  id: Id,
  time: DateTime,
  kind: Kind,
  result: Type.Optional(Result),
  status: Type.Optional(Type.Integer()),
  code: Type.Optional(Type.String()),
  http_method: Type.Optional(Type.String()),
  route: Type.Optional(Type.String()),
  rule: Type.Optional(Type.String()),
  via: Type.Optional(Type.String()),
  user: Type.Optional(Type.Integer()),
  client: Type.Optional(Type.String()),
  key: Type.Optional(Type.String()),
  ms: Type.Optional(Type.Number()),
  ip: Type.Optional(Type.String()),
  user_agent: Type.Optional(Type.String()),
  action: Type.Optional(Type.String()),
  actor: Type.Optional(Type.String()),
  target: Type.Optional(Type.String()),
  detail: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'What else an admin action or event records (e.g. sessions ended)' }))
}, { additionalProperties: false, description: 'One decision, admin action or bridge event' })

const AuditPage = Type.Object({
  entries: Type.Array(AuditEntry),
  next_cursor: Type.Union([Id, Type.Null()], { description: 'Pass as `cursor` for the next, older page; null at the end.' })
}, { additionalProperties: false, description: 'A page of the trail' })

const Count = { count: Type.Integer(), refused: Type.Integer() }
const Counts = Type.Record(Type.String(), Type.Integer())
const Analytics = Type.Object({
  from: DateTime,
  to: DateTime,
  bucket_seconds: Type.Integer(),
  scanned: Type.Integer(),
  truncated: Type.Boolean({ description: 'The read stopped at audit.stream.analyticsScanLimit: the counts cover the newest part of the range.' }),
  totals: Type.Object({ requests: Type.Integer(), allowed: Type.Integer(), refused: Type.Integer(), error: Type.Integer() }),
  by_route: Type.Array(Type.Object({ route: Type.String(), ...Count })),
  by_rule: Type.Array(Type.Object({ rule: Type.String(), ...Count })),
  by_via: Type.Array(Type.Object({ via: Type.String(), ...Count })),
  by_http_method: Type.Array(Type.Object({ method: Type.String(), ...Count })),
  by_user: Type.Array(Type.Object({ user: Type.Integer(), ...Count })),
  by_code: Type.Array(Type.Object({ code: Type.String(), count: Type.Integer() })),
  top_refused_routes: Type.Array(Type.Object({ route: Type.String(), count: Type.Integer() })),
  top_refused_ips: Type.Array(Type.Object({ ip: Type.String(), count: Type.Integer() })),
  series: Type.Array(Type.Object({
    t: DateTime,
    requests: Type.Integer(),
    allowed: Type.Integer(),
    refused: Type.Integer(),
    error: Type.Integer(),
    by_code: Counts,
    by_via: Counts
  }))
}, { additionalProperties: false, description: 'The counts' })

const DAY_MS = 86_400_000
const MAX_RANGE_MS = 366 * DAY_MS

function time (value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  const ms = /^\d{1,15}$/.test(value) ? Number(value) : /^\d{4}-\d{2}-\d{2}/.test(value) ? Date.parse(value) : NaN
  if (!Number.isFinite(ms)) throw new BadRequest(`${name} is neither an ISO 8601 time nor milliseconds since the epoch.`)
  return ms
}

function range (query: { from?: string, to?: string }): { from?: number, to?: number } {
  const from = time(query.from, 'from')
  const to = time(query.to, 'to')
  if (from !== undefined && to !== undefined && from > to) throw new BadRequest('from is after to.')
  return { ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }
}

export default async function adminAuditRoutes (app: FastifyInstance): Promise<void> {
  const { stream: config } = app.config.audit

  app.get<{ Querystring: AuditQuery }>('/_gateway/admin/audit', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Entries of the audit trail, newest first, filtered and paged',
      operationId: 'adminAudit',
      security: ADMIN.security,
      description: 'Decisions, admin actions and bridge events (README, "Audit trail"). Pass next_cursor back as cursor for the next, older page.',
      querystring: AuditQuery,
      response: { 200: AuditPage, ...ADMIN.errors({ 400: 'A parameter that cannot be read (GW_ERR_BAD_REQUEST)' }) }
    }
  }, async (request, reply) => {
    const q = request.query
    const filter: AuditFilter = {
      ...range(q),
      ...(q.user === undefined ? {} : { user: Number(q.user) }),
      ...(q.route === undefined ? {} : { route: q.route }),
      ...(q.result === undefined ? {} : { result: q.result }),
      ...(q.method === undefined ? {} : { method: q.method.toUpperCase() }),
      ...(q.via === undefined ? {} : { via: q.via }),
      ...(q.kind === undefined ? {} : { kind: q.kind })
    }
    // cursor: older than the last entry seen; after: newer than one (both: the entries between).
    const cursor = { ...(q.cursor === undefined ? {} : { before: q.cursor }), ...(q.after === undefined ? {} : { after: q.after }) }
    const { entries, next } = await auditPage(app.store, filter, Number(q.limit), cursor)
    void reply.header('cache-control', 'no-store')
    return { entries, next_cursor: next }
  })

  app.get<{ Querystring: AnalyticsQuery }>('/_gateway/admin/analytics', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Counts of the decisions over a time range, and a series of them',
      operationId: 'adminAnalytics',
      security: ADMIN.security,
      description: 'From the audit trail (README, "Audit trail"): per result, route, rule, method used, HTTP method, user and refusal code; the most refused routes and addresses; a series per bucket.',
      querystring: AnalyticsQuery,
      response: { 200: Analytics, ...ADMIN.errors({ 400: 'A parameter that cannot be read, or a range over 366 days (GW_ERR_BAD_REQUEST)' }) }
    }
  }, async (request, reply) => {
    const now = Date.now()
    const { from: given, to = now } = range(request.query)
    const from = given ?? to - DAY_MS
    if (to - from > MAX_RANGE_MS) throw new BadRequest('The range is longer than 366 days.')
    const bucket = Number(request.query.bucket)
    if (bucket > 86_400) throw new BadRequest('bucket is longer than a day (86400 seconds).')
    void reply.header('cache-control', 'no-store')
    return await auditAnalytics(app.store, from, to, bucket, config.analyticsScanLimit)
  })
}
