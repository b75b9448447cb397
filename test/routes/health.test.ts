import t from 'tap'
import { RedisStore } from '../../src/store/redis.js'
import { buildTestApp, startRedis, startUpstream } from '../helper.js'

t.test('healthz and readyz with WordPress, the bridge and Redis all up', async (t) => {
  const app = await buildTestApp(t)
  t.same((await app.inject({ method: 'GET', url: '/_gateway/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/_gateway/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ok', checks: { store: 'ok', wordpress: 'ok' } })
})

t.test('readyz is 503 when Redis is gone or WordPress lacks the bridge', async (t) => {
  const upstream = await startUpstream(t, { status: 404 })
  const redis = await startRedis(t)
  const store = new RedisStore({ url: redis.url, commandTimeoutMs: 200 })
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, {}, { store, env: { WORDPRESS_URL: upstream.url } })
  await redis.stop()
  const res = await app.inject({ method: 'GET', url: '/_gateway/readyz' })
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'unavailable', checks: { store: 'unavailable', wordpress: 'unavailable' } })
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/healthz' })).statusCode, 200, 'the process itself is alive')
})
