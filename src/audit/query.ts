import type { AuditRange, Store } from '../store/store.js'
import type { AuditKind, AuditRecord, AuditResult } from './stream.js'

// Reading the audit stream (GET /_gateway/admin/audit and /analytics). The
// stream is bounded (audit.stream.maxEntries), so both read it in chunks,
// newest first, and stop at a fixed number of entries examined: a filter that
// matches little costs a bounded read per page, and the cursor goes on from
// where the read stopped.

export interface AuditFilter {
  from?: number
  to?: number
  user?: number
  /** A prefix of the route. */
  route?: string
  result?: AuditResult
  /** The HTTP method. */
  method?: string
  /** The authentication method; `anonymous` for none. */
  via?: string
  kind?: AuditKind
}

export type AuditEntry = Omit<AuditRecord, 't'> & { id: string, time: string }

const CHUNK = 1000
/** Entries examined for one page, at most. */
export const PAGE_SCAN_LIMIT = 20_000

function parse (id: string, raw: string): [AuditEntry, number] | null {
  try {
    const { t, ...rest } = JSON.parse(raw) as AuditRecord
    return [{ id, time: new Date(t).toISOString(), ...rest }, t]
  } catch {
    return null
  }
}

function matches (e: AuditEntry, f: AuditFilter): boolean {
  return (f.user === undefined || e.user === f.user) &&
    (f.route === undefined || (e.route?.startsWith(f.route) ?? false)) &&
    (f.result === undefined || e.result === f.result) &&
    (f.method === undefined || e.http_method === f.method) &&
    (f.via === undefined || (e.via ?? (e.kind === 'request' ? 'anonymous' : undefined)) === f.via) &&
    (f.kind === undefined || e.kind === f.kind)
}

/** Reads newest first from `range`, handing each entry to `visit` until it returns false or `limit` entries were examined. */
async function scan (store: Store, range: AuditRange, limit: number, visit: (e: AuditEntry, t: number) => boolean): Promise<{ last?: string, more: boolean }> {
  let before = range.before
  let examined = 0
  while (examined < limit) {
    const want = Math.min(CHUNK, limit - examined)
    const rows = await store.readAudit({ ...range, ...(before === undefined ? {} : { before }) }, want)
    for (const [id, raw] of rows) {
      examined++
      before = id
      const parsed = parse(id, raw)
      if (parsed !== null && !visit(...parsed)) return { last: id, more: true }
    }
    if (rows.length < want) return { ...(before === undefined ? {} : { last: before }), more: false }
  }
  return { ...(before === undefined ? {} : { last: before }), more: true }
}

/** One page of entries, newest first; `next` continues after the last entry examined. */
export async function auditPage (store: Store, filter: AuditFilter, limit: number, cursor?: { before?: string, after?: string }): Promise<{ entries: AuditEntry[], next: string | null }> {
  const entries: AuditEntry[] = []
  const range: AuditRange = { ...cursor, ...(filter.from === undefined ? {} : { from: filter.from }), ...(filter.to === undefined ? {} : { to: filter.to }) }
  const { last, more } = await scan(store, range, PAGE_SCAN_LIMIT, (e) => {
    if (matches(e, filter)) entries.push(e)
    return entries.length < limit
  })
  return { entries, next: more && last !== undefined ? last : null }
}

interface Count { count: number, refused: number }

export interface Analytics {
  from: string
  to: string
  bucket_seconds: number
  scanned: number
  /** The read stopped at the limit: the counts cover only the newest part of the range. */
  truncated: boolean
  totals: { requests: number, allowed: number, refused: number, error: number }
  by_route: Array<{ route: string } & Count>
  by_rule: Array<{ rule: string } & Count>
  by_via: Array<{ via: string } & Count>
  by_http_method: Array<{ method: string } & Count>
  by_user: Array<{ user: number } & Count>
  by_code: Array<{ code: string, count: number }>
  top_refused_routes: Array<{ route: string, count: number }>
  top_refused_ips: Array<{ ip: string, count: number }>
  series: Array<{ t: string, requests: number, allowed: number, refused: number, error: number, by_code: Record<string, number>, by_via: Record<string, number> }>
}

/** The most series points an answer holds: a longer range gets wider buckets. */
const MAX_BUCKETS = 1440
const TOP = 50

function tally<K> (map: Map<K, Count>, key: K, refused: boolean): void {
  let c = map.get(key)
  if (c === undefined) map.set(key, c = { count: 0, refused: 0 })
  c.count++
  if (refused) c.refused++
}

function top<K, N extends string> (map: Map<K, Count>, name: N, n = TOP): Array<Record<N, K> & Count> {
  return [...map].sort((a, b) => b[1].count - a[1].count).slice(0, n).map(([k, c]) => ({ [name]: k, ...c }) as Record<N, K> & Count)
}

function topRefused<K, N extends string> (map: Map<K, Count>, name: N, n = 10): Array<Record<N, K> & { count: number }> {
  return [...map].filter(([, c]) => c.refused > 0).sort((a, b) => b[1].refused - a[1].refused).slice(0, n).map(([k, c]) => ({ [name]: k, count: c.refused }) as Record<N, K> & { count: number })
}

/** Counts of the request decisions between two times, and a series of them per bucket. */
export async function auditAnalytics (store: Store, from: number, to: number, bucketSeconds: number, scanLimit: number): Promise<Analytics> {
  const bucketMs = Math.max(bucketSeconds * 1000, Math.ceil((to - from + 1) / MAX_BUCKETS / 1000) * 1000)
  const first = Math.floor(from / bucketMs) * bucketMs
  const series = Array.from({ length: Math.floor(to / bucketMs) - first / bucketMs + 1 }, (_, i) => ({
    t: new Date(first + i * bucketMs).toISOString(), requests: 0, allowed: 0, refused: 0, error: 0, by_code: {} as Record<string, number>, by_via: {} as Record<string, number>
  }))
  const totals = { requests: 0, allowed: 0, refused: 0, error: 0 }
  const byRoute = new Map<string, Count>()
  const byRule = new Map<string, Count>()
  const byVia = new Map<string, Count>()
  const byMethod = new Map<string, Count>()
  const byUser = new Map<number, Count>()
  const byCode = new Map<string, Count>()
  const byIp = new Map<string, Count>()
  let scanned = 0
  const { more } = await scan(store, { from, to }, scanLimit, (e, t) => {
    scanned++
    if (e.kind !== 'request') return true
    const result = e.result ?? 'allowed'
    const refused = result === 'refused'
    const via = e.via ?? 'anonymous'
    totals.requests++
    totals[result]++
    tally(byRoute, e.route ?? '', refused)
    if (e.rule !== undefined) tally(byRule, e.rule, refused)
    tally(byVia, via, refused)
    if (e.http_method !== undefined) tally(byMethod, e.http_method, refused)
    if (e.user !== undefined) tally(byUser, e.user, refused)
    if (e.code !== undefined) tally(byCode, e.code, refused)
    if (e.ip !== undefined) tally(byIp, e.ip, refused)
    const point = series[Math.floor((t - first) / bucketMs)]
    if (point !== undefined) {
      point.requests++
      point[result]++
      point.by_via[via] = (point.by_via[via] ?? 0) + 1
      if (e.code !== undefined) point.by_code[e.code] = (point.by_code[e.code] ?? 0) + 1
    }
    return true
  })
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    bucket_seconds: bucketMs / 1000,
    scanned,
    truncated: more,
    totals,
    by_route: top(byRoute, 'route'),
    by_rule: top(byRule, 'rule'),
    by_via: top(byVia, 'via'),
    by_http_method: top(byMethod, 'method'),
    by_user: top(byUser, 'user'),
    by_code: top(byCode, 'code').map(({ code, count }) => ({ code, count })),
    top_refused_routes: topRefused(byRoute, 'route'),
    top_refused_ips: topRefused(byIp, 'ip'),
    series
  }
}
