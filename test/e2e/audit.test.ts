import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp, login, password, redisStore, session, startRedis, throwawayUser, USERS } from '../helper.js'

// The audit trail (README, "Audit trail") through the real gateway, WordPress
// and Redis: decisions, admin actions and bridge events reach the Redis
// Stream, the admin API filters and pages them, analytics counts them, and a
// slow, absent or full store drops entries (counted) without touching requests.

const ADMIN_TOKEN = 'wpag_admin_' + randomBytes(32).toString('base64url')
const adminHash = await hash(ADMIN_TOKEN)
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const PUBLIC_POSTS = { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }

interface Entry { id: string, time: string, kind: string, result?: string, status?: number, code?: string, http_method?: string, route?: string, rule?: string, via?: string, user?: number, ip?: string, user_agent?: string, action?: string, actor?: string, target?: string }

async function audit (app: FastifyInstance, query: Record<string, string | number> = {}): Promise<{ entries: Entry[], next_cursor: string | null }> {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString()
  const res = await app.inject({ method: 'GET', url: `/_gateway/admin/audit${qs === '' ? '' : '?' + qs}`, headers: admin })
  if (res.statusCode !== 200) throw new Error(`audit: ${res.statusCode} ${res.body}`)
  t.equal(res.headers['cache-control'], 'no-store')
  return res.json()
}

/** Lets the last request's onResponse hook run, then writes the queue. */
async function flush (app: FastifyInstance): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve))
  await app.audit.flush()
}

async function droppedTotal (app: FastifyInstance, reason: string): Promise<number> {
  const text = await app.metrics.registry.getSingleMetricAsString('wpag_audit_entries_dropped_total')
  return Number(new RegExp(`reason="${reason}"} (\\d+)`).exec(text)?.[1] ?? 0)
}

t.test('every decision, admin action and bridge event lands in the stream, and the admin API filters and pages it', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: adminHash }, policy: { rules: [PUBLIC_POSTS, { route: '/wp/v2/settings*', access: 'deny' }] } })
  const started = Date.now()
  const editor = await login(app, 'editor')
  const bearer = { authorization: `Bearer ${editor}`, 'user-agent': 'audit-test/1.0' }
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?per_page=1', headers: bearer })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts/987654' })).statusCode, 404, 'WordPress\'s own 404')
  t.equal((await app.inject({ method: 'POST', url: '/wp-json/wp/v2/settings', headers: bearer })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users', remoteAddress: '203.0.113.9' })).statusCode, 401)
  t.equal((await app.inject({ method: 'POST', url: '/_gateway/admin/users/' + USERS.subscriber.id + '/revoke', headers: admin })).statusCode, 200)
  await flush(app)

  const { entries } = await audit(app, { from: started })
  const requests = entries.filter((e) => e.kind === 'request')
  t.match(requests.find((e) => e.route === '/wp/v2/posts' && e.via === 'jwt'), {
    result: 'allowed', status: 200, http_method: 'GET', rule: '/wp/v2/posts*', user: USERS.editor.id, ip: '127.0.0.1', user_agent: 'audit-test/1.0', ms: Number
  }, 'an allowed request: who, how, what, outcome, latency, client')
  t.match(requests.find((e) => e.route === '/wp/v2/posts/987654'), { result: 'allowed', status: 404 }, 'WordPress\'s own answers are allowed by the gateway, whatever their status')
  t.notOk(requests.find((e) => e.route === '/wp/v2/posts/987654')?.via, 'an anonymous caller has no method')
  t.match(requests.find((e) => e.route === '/wp/v2/settings'), { result: 'refused', status: 403, code: 'GW_ERR_ROUTE_DISABLED', http_method: 'POST' })
  t.notOk(requests.find((e) => e.route === '/wp/v2/settings')?.via, 'a disabled route is refused before anyone is authenticated')
  t.match(requests.find((e) => e.route === '/wp/v2/users'), { result: 'refused', status: 401, code: 'GW_ERR_TOKEN_MISSING', ip: '203.0.113.9', rule: 'default' })
  t.match(requests.find((e) => e.route === '/wp-json/api/v1/token' || e.route?.endsWith('/token')), { result: 'allowed', status: 200, http_method: 'POST' }, 'the gateway\'s own endpoints too')
  t.match(entries.find((e) => e.kind === 'admin'), { action: 'user.revoke', actor: 'admin-api-token', target: `user:${USERS.subscriber.id}` }, 'admin actions, with who did them')
  const order = (id: string) => id.split('-').map(Number) as [number, number]
  t.ok(entries.every((e, i) => {
    if (i === 0) return true
    const [ms, seq] = order(e.id)
    const [pms, pseq] = order(entries[i - 1]!.id)
    return ms < pms || (ms === pms && seq < pseq)
  }), 'newest first')
  t.ok(entries.every((e) => Date.parse(e.time) >= started - 1000), 'each with its time')

  t.same((await audit(app, { from: started, result: 'refused', kind: 'request' })).entries.map((e) => e.code).sort(), ['GW_ERR_ROUTE_DISABLED', 'GW_ERR_TOKEN_MISSING'], 'by result')
  t.ok((await audit(app, { from: started, user: USERS.editor.id })).entries.every((e) => e.user === USERS.editor.id), 'by user')
  t.same((await audit(app, { from: started, route: '/wp/v2/posts' })).entries.length, 2, 'by route prefix')
  t.same((await audit(app, { from: started, method: 'post', route: '/wp/v2/' })).entries.map((e) => e.route), ['/wp/v2/settings'], 'by HTTP method, any case')
  t.same((await audit(app, { from: started, via: 'anonymous', route: '/wp/v2/' })).entries.map((e) => e.route).sort(), ['/wp/v2/posts/987654', '/wp/v2/settings', '/wp/v2/users'], 'by method used, anonymous too')
  t.same((await audit(app, { from: started, kind: 'admin' })).entries.map((e) => e.action), ['user.revoke'], 'by kind')
  t.same((await audit(app, { from: Date.now() + 60_000 })).entries, [], 'nothing in the future')
  t.same((await audit(app, { to: new Date(started - 60_000).toISOString(), route: '/wp/v2/settings' })).entries, [], 'ISO times, and nothing of this test before it began')

  // Paging: one entry at a time, following the cursor, gives the whole list once each.
  const paged: string[] = []
  let cursor: string | null = null
  do {
    const page: { entries: Entry[], next_cursor: string | null } = await audit(app, { from: started, limit: 1, ...(cursor === null ? {} : { cursor }) })
    paged.push(...page.entries.map((e) => e.id))
    cursor = page.next_cursor
  } while (cursor !== null && paged.length < 100)
  t.same(paged, entries.map((e) => e.id), 'the cursor pages through every entry once, in order')
  const newest = entries[0]!.id
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?per_page=1' })).statusCode, 200)
  await flush(app)
  t.same((await audit(app, { after: newest })).entries.map((e) => e.route), ['/wp/v2/posts'], 'after: only what is newer (how `audit tail` follows)')

  for (const [query, why] of [['limit=0', 'limit below 1'], ['limit=501', 'limit above 500'], ['from=yesterday', 'a time that is neither ISO nor ms'], ['cursor=abc', 'a cursor that is not an id'], ['result=maybe', 'an unknown result'], ['nope=1', 'an unknown parameter'], [`from=${started}&to=${started - 1}`, 'from after to']] as const) {
    const res = await app.inject({ method: 'GET', url: `/_gateway/admin/audit?${query}`, headers: admin })
    t.equal(res.statusCode, 400, `${why}: 400`)
    t.match(res.json().code, /^GW_ERR_/, `${why}: a stable code`)
  }
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/audit', headers: bearer })).statusCode, 403, 'an editor may not read the trail')
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/audit' })).statusCode, 401, 'nor may anyone anonymous')
  await flush(app)
  t.same((await audit(app, { from: started, route: '/_gateway/admin/audit', result: 'refused' })).entries.map((e) => e.status).sort(), [400, 400, 400, 400, 400, 400, 400, 401, 403], 'refused reads of the trail are in it; the allowed ones are not (the dashboard polls)')
})

t.test('a bridge event (a WordPress logout) is in the trail', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: adminHash } })
  const { EVENTS_PORT } = await import('../helper.js')
  await app.listen({ port: EVENTS_PORT, host: '127.0.0.1' })
  const started = Date.now()
  const user = await throwawayUser(t, app)
  const adminJwt = await login(app, 'admin')
  const changed = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: { authorization: `Bearer ${adminJwt}` }, payload: { password: `new-${randomBytes(6).toString('hex')}` } })
  t.equal(changed.statusCode, 200)
  let event: Entry | undefined
  for (let i = 0; i < 50 && event === undefined; i++) {
    await flush(app)
    event = (await audit(app, { from: started, kind: 'event' })).entries.find((e) => e.target === `user:${user.id}`)
    if (event === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.match(event, { kind: 'event', action: 'event.password_changed', actor: 'wordpress', user: user.id }, 'the bridge\'s word, with the user it is about')
})

t.test('analytics counts decisions per result, route, method, user, code; top refused routes and IPs; a series over time', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: adminHash }, policy: { rules: [PUBLIC_POSTS, { route: '/wp/v2/settings*', access: 'deny' }] } })
  const started = Date.now()
  const editor = { authorization: `Bearer ${await login(app, 'editor')}` }
  for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?per_page=1', headers: editor })
  for (let i = 0; i < 2; i++) await app.inject({ method: 'GET', url: '/wp-json/wp/v2/settings', remoteAddress: '198.51.100.4' })
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', remoteAddress: '198.51.100.5' })
  await flush(app)
  const res = await app.inject({ method: 'GET', url: `/_gateway/admin/analytics?from=${started}&bucket=60`, headers: admin })
  t.equal(res.statusCode, 200)
  const a = res.json()
  t.match(a.totals, { requests: 7, allowed: 4, refused: 3, error: 0 }, 'the login and the six calls')
  t.match(a.by_via, [{ via: 'anonymous', count: 4, refused: 3 }, { via: 'jwt', count: 3, refused: 0 }], 'most used first')
  t.match(a.by_user, [{ user: USERS.editor.id, count: 3, refused: 0 }])
  t.match(a.by_rule.find((r: { rule: string }) => r.rule === '/wp/v2/settings*'), { count: 2, refused: 2 })
  t.same(a.by_code.sort((x: { code: string }, y: { code: string }) => x.code.localeCompare(y.code)), [{ code: 'GW_ERR_ROUTE_DISABLED', count: 2 }, { code: 'GW_ERR_TOKEN_MISSING', count: 1 }])
  t.same(a.top_refused_routes, [{ route: '/wp/v2/settings', count: 2 }, { route: '/wp/v2/users/me', count: 1 }])
  t.same(a.top_refused_ips, [{ ip: '198.51.100.4', count: 2 }, { ip: '198.51.100.5', count: 1 }])
  t.equal(a.bucket_seconds, 60)
  const sum = (k: string) => a.series.reduce((n: number, p: Record<string, number>) => n + p[k]!, 0)
  t.equal(sum('requests'), 7, 'the series adds up to the totals')
  t.equal(sum('refused'), 3)
  t.equal(a.series.reduce((n: number, p: { by_code: Record<string, number> }) => n + (p.by_code.GW_ERR_ROUTE_DISABLED ?? 0), 0), 2, 'refusals by reason over time')
  t.equal(a.truncated, false)

  const wide = (await app.inject({ method: 'GET', url: `/_gateway/admin/analytics?from=${Date.now() - 30 * 86_400_000}&bucket=1`, headers: admin })).json()
  t.ok(wide.series.length <= 1441 && wide.bucket_seconds > 1, `a long range gets wider buckets (${wide.bucket_seconds} s, ${wide.series.length} points)`)
  t.equal((await app.inject({ method: 'GET', url: `/_gateway/admin/analytics?from=0&to=${Date.now()}`, headers: admin })).statusCode, 400, 'more than a year: refused')
})

t.test('a store that hangs, is gone or is too slow for the load drops entries, counted, and never delays a request', async (t) => {
  const redis = await startRedis(t)
  // A long timeout: a request that waited on the store would take at least that long.
  const store = redisStore(redis.url, { commandTimeoutMs: 3000 })
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, { admin: { apiTokenHash: adminHash }, policy: { rules: [PUBLIC_POSTS] }, audit: { stream: { flushMs: 60_000, bufferEntries: 100 } } }, { store })
  const publicCall = () => app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?per_page=1' })

  redis.pause()
  let slowest = 0
  for (let i = 0; i < 5; i++) {
    const began = Date.now()
    t.equal((await publicCall()).statusCode, 200)
    slowest = Math.max(slowest, Date.now() - began)
  }
  t.ok(slowest < 1500, `requests do not wait on the hanging store (slowest ${slowest} ms; the store's timeout is 3 s)`)
  await flush(app)
  t.equal(await droppedTotal(app, 'store'), 5, 'the batch the store did not take is dropped and counted')
  redis.resume()

  await redis.stop()
  await publicCall()
  await flush(app)
  t.equal(await droppedTotal(app, 'store'), 6, 'a store that is gone: the same')
  await redis.start()
  let written = false
  for (let i = 0; i < 50 && !written; i++) {
    await publicCall()
    await flush(app)
    written = (await audit(app, { route: '/wp/v2/posts' })).entries.length > 0
    if (!written) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(written, 'writing resumes by itself once the store is back')

  const storedBefore = (await audit(app, { route: '/wp/v2/posts', limit: 500 })).entries.length
  for (let i = 0; i < 130; i++) await publicCall()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(await droppedTotal(app, 'overflow'), 30, 'past bufferEntries (100) waiting, entries are dropped and counted')
  await flush(app)
  const stored = (await audit(app, { route: '/wp/v2/posts', limit: 500 })).entries.length
  t.equal(stored - storedBefore, 100, 'the queued entries are written')
  const samples = await app.metrics.registry.getSingleMetricAsString('wpag_audit_entries_written_total')
  t.match(samples, /wpag_audit_entries_written_total \d+/, 'writes are counted')
})

t.test('audit.stream.enabled: false writes nothing; the admin API answers an empty trail', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: adminHash }, audit: { stream: { enabled: false } } })
  await session(app, 'editor', password('editor'))
  await flush(app)
  t.same((await audit(app)).entries, [])
  t.equal(app.audit.stream, null)
})
