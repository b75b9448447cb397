import t from 'tap'
import { execFileSync } from 'node:child_process'
import { buildTestApp, redisStore, startRedis, startUpstream } from '../helper.js'

t.test('healthz and readyz with WordPress, the bridge and Redis all up', async (t) => {
  const app = await buildTestApp(t)
  t.same((await app.inject({ method: 'GET', url: '/_gateway/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/_gateway/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', checks: { store: 'ok', wordpress: 'ok' }, problems: [], warnings: [] })
})

t.test('readyz is 503 when Redis is gone or WordPress lacks the bridge, and says why', async (t) => {
  const upstream = await startUpstream(t, { status: 404 })
  const redis = await startRedis(t)
  const store = redisStore(redis.url, { commandTimeoutMs: 200 })
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, {}, { store, env: { WORDPRESS_URL: upstream.url } })
  await redis.stop()
  const res = await app.inject({ method: 'GET', url: '/_gateway/readyz' })
  t.equal(res.statusCode, 503)
  t.match(res.json(), { status: 'unavailable', checks: { store: 'unavailable', wordpress: 'unavailable' } })
  t.match(res.json().problems, [/^store: /, /^wordpress: WordPress answered 404 where the bridge was expected/])
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/healthz' })).statusCode, 200, 'the process itself is alive')
})

t.test('readyz is 503 while the store takes no writes', async (t) => {
  const redis = await startRedis(t)
  const store = redisStore(redis.url, { commandTimeoutMs: 500 })
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, {}, { store })
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/readyz' })).statusCode, 200, 'the control: ready while writable')
  // A full Redis answers reads but refuses writes (OOM), as a read-only replica would (READONLY).
  const port = new URL(redis.url).port
  execFileSync('redis-cli', ['-p', port, 'config', 'set', 'maxmemory-policy', 'noeviction'])
  execFileSync('redis-cli', ['-p', port, 'config', 'set', 'maxmemory', '1'])
  const full = await app.inject({ method: 'GET', url: '/_gateway/readyz' })
  t.equal(full.statusCode, 503)
  t.match(full.json(), { checks: { store: 'unavailable', wordpress: 'ok' } })
  execFileSync('redis-cli', ['-p', port, 'config', 'set', 'maxmemory', '0'])
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/readyz' })).statusCode, 200, 'and ready again by itself')
})

t.test('a BRIDGE_SECRET that WordPress does not share is a 503 naming it, never a wrong password', async (t) => {
  const app = await buildTestApp(t, {}, { env: { BRIDGE_SECRET: 'a-secret-wordpress-does-not-know-0123456789' } })
  const login = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: 'editor-password-123' } })
  t.equal(login.statusCode, 503)
  t.equal(login.json().code, 'GW_ERR_BRIDGE_UNAVAILABLE')
  t.notMatch(login.body, /BRIDGE_SECRET/, 'the client learns nothing of the set-up')
  const ready = await app.inject({ method: 'GET', url: '/_gateway/readyz' })
  t.equal(ready.statusCode, 503)
  t.match(ready.json().problems, [/^wordpress: WordPress rejects the gateway's assertions: BRIDGE_SECRET must be the same for the gateway and WordPress/])
})

t.test('paths under /_gateway/ that are no gateway route are the gateway\'s 404, never forwarded', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  for (const url of ['/_gateway/admin/', '/_gateway/', '/_gateway', '/_GATEWAY/readyz/', '/%5Fgateway/admin', '/_gateway/nothing?x=1']) {
    for (const method of ['GET', 'POST'] as const) {
      const res = await app.inject({ method, url })
      t.equal(res.statusCode, 404, `${method} ${url}`)
      t.equal(res.json().code, 'GW_ERR_ROUTE_NOT_FOUND', `${method} ${url}`)
    }
  }
  t.equal(upstream.requests.length, 0, 'WordPress saw none of them')
})
