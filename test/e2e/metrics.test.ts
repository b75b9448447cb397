import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { buildTestApp, login, password, redisStore, session, startRedis } from '../helper.js'
import { startKeyServer } from '../fixtures/identity-providers.js'

// Prometheus metrics at /_gateway/metrics (README, "Metrics"), through the
// real gateway, WordPress and Redis: the exposition text is parsed and its
// samples checked against the requests the test made.

const ADMIN_TOKEN = 'wpag_admin_' + randomBytes(32).toString('base64url')
const METRICS_TOKEN = 'wpag_metrics_' + randomBytes(32).toString('base64url')
const hashes = { admin: await hash(ADMIN_TOKEN), metrics: await hash(METRICS_TOKEN) }
const PUBLIC_POSTS = { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }

interface Sample { name: string, labels: Record<string, string>, value: number }

/** The exposition format's sample lines (`name{a="b",…} value`). */
function parse (text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    out.push({ name: m[1]!, labels, value: Number(m[3]) })
  }
  return out
}

/** The sum of a metric's samples whose labels include these. */
function total (samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0)
}

async function scrape (app: FastifyInstance, token = ADMIN_TOKEN): Promise<Sample[]> {
  // The previous request's onResponse hook runs once its answer has gone.
  await new Promise((resolve) => setImmediate(resolve))
  const res = await app.inject({ method: 'GET', url: '/_gateway/metrics', headers: { authorization: `Bearer ${token}` } })
  if (res.statusCode !== 200) throw new Error(`scrape: ${res.statusCode} ${res.body}`)
  return parse(res.body)
}

t.test('requests to WordPress move the request counters and the latency histograms', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: hashes.admin }, policy: { rules: [PUBLIC_POSTS] } })
  const editor = await login(app, 'editor')
  const before = await scrape(app)

  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?per_page=1', headers: { authorization: `Bearer ${editor}` } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${editor}` } })).statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts/987654' })).statusCode, 404, 'WordPress answers 404 itself')
  const after = await scrape(app)
  const moved = (labels: Record<string, string>) => total(after, 'wpag_requests_total', labels) - total(before, 'wpag_requests_total', labels)

  t.equal(moved({ route: '/wp/v2/posts*', via: 'anonymous', result: 'allowed', code: '', status_class: '2xx' }), 1, 'anonymous, by the public rule')
  t.equal(moved({ route: '/wp/v2/posts*', via: 'jwt', result: 'allowed', status_class: '2xx' }), 1, 'with a token, by the same rule')
  t.equal(moved({ route: 'default', via: 'jwt', result: 'allowed', status_class: '2xx' }), 1, 'users/me by the policy\'s default')
  t.equal(moved({ route: '/wp/v2/posts*', via: 'anonymous', result: 'allowed', status_class: '4xx' }), 1, 'WordPress\'s own 404 is an allowed request of class 4xx')
  t.equal(total(after, 'wpag_requests_total', { route: '/wp-json/api/v1/token', via: 'anonymous', result: 'allowed' }), 1, 'the gateway\'s own endpoint, by its registered path')

  const count = (samples: Sample[], name: string, labels: Record<string, string> = {}) => total(samples, `${name}_count`, labels)
  t.equal(count(after, 'wpag_upstream_duration_seconds') - count(before, 'wpag_upstream_duration_seconds'), 4, 'four WordPress hops timed')
  t.equal(count(after, 'wpag_upstream_duration_seconds', { status_class: '4xx' }), 1)
  t.ok(total(after, 'wpag_upstream_duration_seconds_sum') > 0.001, 'WordPress takes milliseconds')
  t.equal(count(after, 'wpag_gateway_duration_seconds', { via: 'jwt' }) - count(before, 'wpag_gateway_duration_seconds', { via: 'jwt' }), 2)
  t.ok(count(after, 'wpag_request_duration_seconds', { result: 'allowed' }) >= 5)
  t.ok(total(after, 'wpag_store_command_duration_seconds_count') > 0, 'the store\'s commands are timed')
  t.ok(total(after, 'wpag_store_command_duration_seconds_count', { command: 'wpagCreateSession' }) >= 1, 'its scripts by name')
  t.equal(total(after, 'wpag_revocation_view_synced'), 1, 'the revocation view is synced')
  t.ok(total(after, 'wpag_revocation_view_last_load_timestamp_seconds') > Date.now() / 1000 - 60)
  t.ok(total(after, 'process_cpu_seconds_total') > 0, 'with the default process metrics')
  t.ok(after.some((s) => s.name === 'nodejs_eventloop_lag_seconds'))

  // What the README lists and the Grafana dashboard queries is what a scrape shows.
  const text = (await app.inject({ method: 'GET', url: '/_gateway/metrics', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).body
  const exposed = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
  const readme = readFileSync('README.md', 'utf8').split('\n## Metrics\n')[1]!.split('\n## ')[0]!
  const listed = new Set([...readme.matchAll(/`(wpag_[a-z_]+)`/g)].map((m) => m[1]!))
  const dashboard = readFileSync('docs/grafana/wp-auth-gateway.json', 'utf8')
  const queried = new Set([...dashboard.matchAll(/\b((?:wpag|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, '')))
  t.same([...exposed].filter((n) => n.startsWith('wpag_') && !listed.has(n)), [], 'every wpag_ metric is in the README')
  t.same([...listed].filter((n) => !exposed.has(n)), [], 'the README lists no metric that does not exist')
  t.same([...queried].filter((n) => !exposed.has(n)), [], 'the dashboard queries no metric that does not exist')
})

t.test('fetches of providers\' key sets are counted by provider and result', async (t) => {
  const [ks, gone] = [await startKeyServer(t), await startKeyServer(t)]
  gone.up = false
  // users.create false: a verified token of an unknown person is refused after verification, and no WordPress user is made.
  const provider = (issuer: string, over: Record<string, unknown>) => ({ issuer, audiences: ['wordpress'], users: { create: false }, jwks: { timeoutMs: 500 }, ...over })
  const app = await buildTestApp(t, {
    admin: { apiTokenHash: hashes.admin },
    auth: { methods: ['jwt', 'oidc'] },
    providers: {
      up: provider(`${ks.url}/realms/up`, { jwksUri: ks.jwksUri }),
      down: provider(`${gone.url}/realms/down`, { jwksUri: gone.jwksUri }),
      lost: provider(`${gone.url}/realms/lost`, { discovery: true }),
      inline: provider(`${ks.url}/realms/inline`, { keys: [ks.published[0]!.jwk] })
    }
  })
  const fetches = (samples: Sample[], provider: string, result: string) => total(samples, 'wpag_jwks_fetches_total', { provider, result })
  const before = await scrape(app)
  t.same(['up', 'down', 'lost'].map((p) => [fetches(before, p, 'ok'), fetches(before, p, 'error')]), [[0, 0], [0, 0], [0, 0]], 'every provider that fetches keys shows both results at 0 before any fetch')
  t.notOk(before.some((s) => s.name === 'wpag_jwks_fetches_total' && s.labels.provider === 'inline'), 'inline keys are never fetched')

  const token = async (iss: string) => await ks.sign({ iss, aud: 'wordpress', sub: 'kc-someone', email: 'someone@idp.example', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })
  const me = async (iss: string) => (await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${await token(iss)}` } })).json().code as string
  t.equal(await me(`${ks.url}/realms/up`), 'GW_ERR_USER_NOT_PROVISIONED', 'verified (then refused: creation is off)')
  t.equal(await me(`${ks.url}/realms/up`), 'GW_ERR_USER_NOT_PROVISIONED', 'a second token: the keys are cached')
  t.equal(await me(`${gone.url}/realms/down`), 'GW_ERR_PROVIDER_UNAVAILABLE', 'the key set is unreachable')
  t.equal(await me(`${gone.url}/realms/lost`), 'GW_ERR_PROVIDER_UNAVAILABLE', 'the discovery document is unreachable')

  const after = await scrape(app)
  t.same([fetches(after, 'up', 'ok'), fetches(after, 'up', 'error')], [1, 0], 'one fetch, ok, for two tokens')
  t.same([fetches(after, 'down', 'ok'), fetches(after, 'down', 'error')], [0, 1], 'an unreachable key set: an error')
  t.same([fetches(after, 'lost', 'ok'), fetches(after, 'lost', 'error')], [0, 1], 'a failed discovery: an error too, no key set could be had')
  t.equal(ks.fetches, 1)
  t.equal(total(after, 'wpag_jwks_fetch_duration_seconds_count', { provider: 'up' }), 1, 'the fetch is timed')
  t.ok(total(after, 'wpag_jwks_fetch_duration_seconds_sum', { provider: 'up' }) > 0)
})

t.test('refusals are counted by their code and the method used', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: hashes.admin }, policy: { rules: [PUBLIC_POSTS, { route: '/wp/v2/settings*', access: 'authenticated', roles: ['administrator'] }] } })
  const editor = await login(app, 'editor')
  const missing = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me' })
  const malformed = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: 'Bearer not-a-token' } })
  const role = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/settings', headers: { authorization: `Bearer ${editor}` } })
  const revoked = await session(app, 'author', password('author'))
  await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: { token: revoked.access_token } })
  const afterRevoke = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${revoked.access_token}` } })
  const codes = [missing, malformed, role, afterRevoke].map((r) => r.json().code as string)
  t.same(codes, ['GW_ERR_TOKEN_MISSING', 'GW_ERR_TOKEN_MALFORMED', 'GW_ERR_ROLE_FORBIDDEN', 'GW_ERR_TOKEN_REVOKED'])
  const samples = await scrape(app)
  t.equal(total(samples, 'wpag_requests_total', { route: 'default', via: 'anonymous', result: 'refused', code: 'GW_ERR_TOKEN_MISSING', status_class: '4xx' }), 1)
  t.equal(total(samples, 'wpag_requests_total', { route: 'default', result: 'refused', code: 'GW_ERR_TOKEN_MALFORMED' }), 1)
  t.equal(total(samples, 'wpag_requests_total', { route: '/wp/v2/settings*', via: 'jwt', result: 'refused', code: 'GW_ERR_ROLE_FORBIDDEN' }), 1, 'a refusal after authentication names the method')
  t.equal(total(samples, 'wpag_requests_total', { result: 'refused', code: 'GW_ERR_TOKEN_REVOKED' }), 1)
  t.equal(total(samples, 'wpag_upstream_duration_seconds_count'), 0, 'none of them reached WordPress')
  t.ok(total(samples, 'wpag_revocation_view_entries') >= 1, 'the revocation is in the local view')
})

t.test('random paths and methods create no new series', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: hashes.admin }, policy: { rules: [PUBLIC_POSTS] } })
  const random = () => randomBytes(6).toString('hex')
  const round = async () => {
    for (const url of [`/wp-json/wp/v2/posts/${random()}`, `/wp-json/${random()}/v1/${random()}`, `/${random()}/`, `/_gateway/${random()}`, `/wp-json/gateway-bridge/v1/${random()}`, `/index.php?rest_route=/${random()}`]) {
      await app.inject({ method: 'GET', url })
    }
    await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts?x=${random()}`, headers: { 'user-agent': random(), authorization: `Bearer ${random()}` } })
  }
  await round()
  await app.audit.flush() // the audit stream's write: its store commands' series
  await scrape(app) // the scrape's own series
  // A refusal's code is one of the gateway's own (which one a random path earns may vary).
  const series = (samples: Sample[]) => new Set(samples.filter((s) => s.name.startsWith('wpag_')).map((s) => `${s.name}${JSON.stringify({ ...s.labels, code: undefined })}`))
  const first = series(await scrape(app))
  for (let i = 0; i < 5; i++) await round()
  const samples = await scrape(app)
  t.same([...series(samples)].filter((s) => !first.has(s)), [], 'five more rounds of new paths: the same series')
  const requests = samples.filter((s) => s.name === 'wpag_requests_total')
  const routes = new Set(requests.map((s) => s.labels.route!))
  t.ok(routes.size <= 8, `few route labels: ${[...routes].join(', ')}`)
  for (const route of routes) t.notMatch(route, /[0-9a-f]{12}/, `no client input in ${route}`)
  for (const { labels } of requests) t.match(labels.code, /^(GW_ERR_[A-Z_]+)?$/, `a code of the gateway's own: ${labels.code}`)
})

t.test('scraping needs the metrics token, the admin token or an administrator', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: hashes.admin }, metrics: { tokenHash: hashes.metrics } })
  const get = (authorization?: string) => app.inject({ method: 'GET', url: '/_gateway/metrics', headers: authorization === undefined ? {} : { authorization } })
  const anonymous = await get()
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'GW_ERR_TOKEN_MISSING')
  t.notMatch(anonymous.body, /wpag_requests_total/)
  const editor = await get(`Bearer ${await login(app, 'editor')}`)
  t.equal(editor.statusCode, 403, 'an editor is refused')
  t.equal((await get(`Bearer wpag_metrics_${randomBytes(32).toString('base64url')}`)).statusCode, 403, 'a wrong metrics token is refused')
  const scraper = await get(`Bearer ${METRICS_TOKEN}`)
  t.equal(scraper.statusCode, 200, 'the metrics token scrapes')
  t.match(scraper.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  t.equal(scraper.headers['cache-control'], 'no-store')
  t.equal((await get(`Bearer ${ADMIN_TOKEN}`)).statusCode, 200, 'so does the admin token')
  t.equal((await get(`Bearer ${await login(app, 'admin')}`)).statusCode, 200, 'and an administrator')
  const adminRoute = await app.inject({ method: 'GET', url: '/_gateway/admin/api-keys', headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
  t.equal(adminRoute.statusCode, 401, 'the metrics token opens nothing else')
})

t.test('metrics.port serves the metrics without credentials on a port of their own', async (t) => {
  const app = await buildTestApp(t, { metrics: { port: 0, host: '127.0.0.1' } })
  await app.ready()
  const { port } = app.metrics.server!.server.address() as AddressInfo
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  t.equal(res.status, 200)
  t.match(await res.text(), /# TYPE wpag_requests_total counter/)
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/metrics' })).statusCode, 401, 'the main port still asks for a credential')
})

t.test('throttled attempts are counted by what took the secret', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: hashes.admin }, auth: { throttle: { account: { attempts: 2, seconds: 60 } } } })
  const statuses: number[] = []
  for (let i = 0; i < 4; i++) {
    statuses.push((await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'subscriber', password: `wrong-${i}` } })).statusCode)
  }
  t.same(statuses, [401, 429, 429, 429])
  const samples = await scrape(app)
  t.ok(total(samples, 'wpag_throttled_attempts_total', { scope: 'login' }) >= 3, `throttled logins counted (${total(samples, 'wpag_throttled_attempts_total', { scope: 'login' })})`)
  t.equal(total(samples, 'wpag_requests_total', { route: '/wp-json/api/v1/token', result: 'refused', code: 'GW_ERR_TOO_MANY_ATTEMPTS' }), 3)
})

t.test('a stopped Redis: store errors, an unsynced view; back empty: a state loss', async (t) => {
  const redis = await startRedis(t)
  const store = redisStore(redis.url)
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, { admin: { apiTokenHash: hashes.admin }, policy: { rules: [PUBLIC_POSTS] } }, { store })
  const editor = await login(app, 'editor')
  const before = await scrape(app) // the admin token is verified now, so later scrapes need no store
  t.equal(total(before, 'wpag_store_errors_total'), 0)
  t.equal(total(before, 'wpag_state_losses_total'), 0)

  await redis.stop()
  for (let i = 0; i < 50 && app.revocations.synced; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  // Unsynced, the token is checked against the store: its command fails.
  const refused = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${editor}` } })
  t.equal(refused.statusCode, 503)
  let down = await scrape(app)
  for (let i = 0; i < 50 && total(down, 'wpag_store_connection_errors_total') === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    down = await scrape(app)
  }
  t.ok(total(down, 'wpag_store_errors_total', { command: 'hmget' }) >= 1, `store errors counted by command (${total(down, 'wpag_store_errors_total')})`)
  t.ok(total(down, 'wpag_store_connection_errors_total') >= 1, 'and the connection\'s errors (reconnecting)')
  t.equal(total(down, 'wpag_revocation_view_synced'), 0, 'the view is not synced')
  t.equal(total(down, 'wpag_requests_total', { route: 'default', via: 'anonymous', result: 'error', code: 'GW_ERR_STORE_UNAVAILABLE', status_class: '5xx' }), 1)

  await redis.start() // without persistence: back empty
  for (let i = 0; i < 200 && (app.revocations.stats.stateLosses === 0 || !app.revocations.synced); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const back = await scrape(app)
  t.equal(total(back, 'wpag_state_losses_total'), 1, 'the state loss is counted')
  t.equal(total(back, 'wpag_revocation_view_synced'), 1, 'and the view is synced again')
})
