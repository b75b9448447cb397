import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, login, redisStore, startRedis, testConfig, USERS } from '../helper.js'

// Per-rule request rate limits (`rateLimit: {max, windowSeconds, by}`),
// against the real WordPress and Redis, shared by replicas on one store.

const limited = (by: 'ip' | 'user' | 'key', max = 3) => ({
  policy: {
    default: 'authenticated',
    rules: [
      { route: '/wp/v2/search', methods: ['GET'], access: 'public', rateLimit: { max, windowSeconds: 60, by } },
      { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }
    ]
  }
})
const search = async (app: FastifyInstance, headers: Record<string, string> = {}, ip = '127.0.0.1') =>
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/search?search=hello', headers, remoteAddress: ip })

t.test('by IP: the limit is shared by the replicas, answered 429 with Retry-After, and other routes are untouched', async (t) => {
  const a = await buildTestApp(t, limited('ip'))
  const b = await buildTestApp(t, limited('ip'), { store: a.store })
  const codes = [(await search(a)).statusCode, (await search(b)).statusCode, (await search(a)).statusCode]
  t.same(codes, [200, 200, 200], 'WordPress answers up to the limit')
  const over = await search(b)
  t.equal(over.statusCode, 429, 'the other replica counted them too')
  t.equal(over.json().code, 'GW_ERR_RATE_LIMITED')
  t.ok(Number(over.headers['retry-after']) > 0 && Number(over.headers['retry-after']) <= 60)
  t.equal((await search(a, {}, '10.0.0.2')).statusCode, 200, 'another address has its own count')
  t.equal((await a.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' })).statusCode, 200, 'a route without a limit is not counted')
})

t.test('by user: each user has a count of their own; anonymous callers are counted by IP', async (t) => {
  const app = await buildTestApp(t, limited('user', 2))
  const editor = { authorization: `Bearer ${await login(app, 'editor')}` }
  const author = { authorization: `Bearer ${await login(app, 'author')}` }
  t.same([(await search(app, editor)).statusCode, (await search(app, editor)).statusCode, (await search(app, editor)).statusCode], [200, 200, 429])
  t.same([(await search(app, author)).statusCode, (await search(app, author)).statusCode], [200, 200], 'the author is not the editor')
  t.same([(await search(app)).statusCode, (await search(app)).statusCode, (await search(app)).statusCode], [200, 200, 429])
})

t.test('by key: each OAuth client (or API key) has a count of its own, apart from its user', async (t) => {
  const app = await buildTestApp(t, limited('key', 1))
  const user = { id: USERS.editor.id, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
  const bearer = async (clientId?: string) => {
    const { sid } = await app.sessions.create(user.id, { userAgent: 'test', ip: '127.0.0.1' })
    return { authorization: `Bearer ${(await app.accessTokens.issue(user, sid, clientId === undefined ? {} : { clientId })).token}` }
  }
  const one = await bearer('wpgc_000000000000000000000001')
  const two = await bearer('wpgc_000000000000000000000002')
  const plain = await bearer()
  t.same([(await search(app, one)).statusCode, (await search(app, one)).statusCode], [200, 429])
  t.equal((await search(app, two)).statusCode, 200, 'another client of the same user')
  t.equal((await search(app, plain)).statusCode, 200, 'the user without a client')
})

t.test('each sub-request of a batch counts against its own route, refused before WordPress sees any', async (t) => {
  const app = await buildTestApp(t, { policy: { rules: [{ route: '/wp/v2/posts', methods: ['POST'], access: 'authenticated', rateLimit: { max: 2, windowSeconds: 60, by: 'user' } }] } })
  const editor = { authorization: `Bearer ${await login(app, 'editor')}` }
  const title = `rate-limited batch ${Date.now()}`
  const requests = Array.from({ length: 3 }, () => ({ method: 'POST', path: '/wp/v2/posts', body: { title, status: 'draft' } }))
  const res = await app.inject({ method: 'POST', url: '/wp-json/batch/v1', headers: editor, payload: { requests } })
  t.equal(res.statusCode, 429, res.body)
  t.equal(res.json().code, 'GW_ERR_RATE_LIMITED')
  const found = await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts?status=draft&search=${encodeURIComponent(title)}`, headers: editor })
  t.same(found.json(), [], 'nothing was created')
})

t.test('a Redis that cannot count does not stop the route: each replica counts alone meanwhile', async (t) => {
  const redis = await startRedis(t)
  const store = redisStore(redis.url, { keyPrefix: 'wpag-test-rl:', commandTimeoutMs: 300 })
  await store.connect()
  t.teardown(async () => { await store.close() })
  const app = await buildTestApp(t, limited('ip', 2), { store })
  t.equal((await search(app)).statusCode, 200)
  await redis.stop()
  t.same([(await search(app, {}, '10.0.0.9')).statusCode, (await search(app, {}, '10.0.0.9')).statusCode, (await search(app, {}, '10.0.0.9')).statusCode], [200, 200, 429], 'limited from memory')
})

t.test('a rate limit on a denied route is a configuration error', async (t) => {
  t.throws(() => testConfig({ policy: { rules: [{ route: '/x', access: 'deny', rateLimit: { max: 1, windowSeconds: 1 } }] } }), { message: /policy\.rules\.0 \(\/x\): rateLimit does not apply to access: deny/ })
  t.throws(() => testConfig({ policy: { rules: [{ route: '/x', access: 'public', rateLimit: { max: 0, windowSeconds: 1 } }] } }), { message: /rateLimit/ })
})
