import t from 'tap'
import { buildTestApp, password, redisStore, session, startRedis } from '../helper.js'

// Stop a real Redis under a running gateway, then start it again.

t.test('without Redis the gateway fails closed, fast, and recovers by itself', async (t) => {
  const redis = await startRedis(t, { persist: true })
  const store = redisStore(redis.url)
  await store.connect()
  t.teardown(() => store.close())
  const logs: string[] = []
  const app = await buildTestApp(t, { policy: { rules: [{ route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }] } }, { store, logs })
  const pair = await session(app, 'editor', password('editor'))
  const auth = { authorization: `Bearer ${pair.access_token}` }
  const protectedCall = () => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: auth })
  t.equal((await protectedCall()).statusCode, 200)

  await redis.stop()
  for (let i = 0; i < 50 && app.revocations.synced; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.notOk(app.revocations.synced, 'the replica noticed its revocation feed is gone')

  const timed = async (name: string, call: () => Promise<{ statusCode: number, json: () => { code: string } }>, status: number, code?: string) => {
    const started = Date.now()
    const res = await call()
    const took = Date.now() - started
    t.equal(res.statusCode, status, `${name}: ${status}`)
    if (code !== undefined) t.equal(res.json().code, code, `${name}: ${code}`)
    t.ok(took < 1500, `${name}: answered in ${took} ms`)
  }
  await timed('a request with a token', protectedCall, 503, 'GW_ERR_STORE_UNAVAILABLE')
  await timed('the same token on a public route', () => app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: auth }), 503, 'GW_ERR_STORE_UNAVAILABLE')
  await timed('login', () => app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: password('editor') } }), 503, 'GW_ERR_STORE_UNAVAILABLE')
  await timed('refresh', () => app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } }), 503, 'GW_ERR_STORE_UNAVAILABLE')
  await timed('revoke', () => app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: { token: pair.refresh_token } }), 503, 'GW_ERR_STORE_UNAVAILABLE')
  await timed('an anonymous public request', () => app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' }), 200)
  const warnings = logs.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && l.code === 'GW_ERR_STORE_UNAVAILABLE')
  t.ok(warnings.length >= 1, 'store failures are logged')
  t.match(warnings[0]?.cause, /ECONNREFUSED|not connected to Redis/, `with the Redis error's name and text: ${warnings[0]?.cause}`)
  t.ok(warnings.length < 5, `at most one line per cause every few seconds (${warnings.length} lines for 5 failed requests)`)

  await redis.start()
  const started = Date.now()
  let status = 503
  while (status !== 200 && Date.now() - started < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = (await protectedCall()).statusCode
  }
  t.equal(status, 200, `protected requests work again without a restart (after ${Date.now() - started} ms)`)
  const refreshed = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } })
  t.equal(refreshed.statusCode, 200, 'Redis kept its data (append-only file), so the session lives on')
  const again = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: password('editor') } })
  t.equal(again.statusCode, 200, 'and so do logins')
  for (let i = 0; i < 100 && !app.revocations.synced; i++) await new Promise((resolve) => setTimeout(resolve, 20))
  t.ok(app.revocations.synced, 'the revocation feed is back')
})

t.test('a Redis that hangs is a 503 after the command timeout, not a hang', async (t) => {
  const redis = await startRedis(t)
  const store = redisStore(redis.url, { commandTimeoutMs: 500 })
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, {}, { store })
  const pair = await session(app, 'author', password('author'))
  redis.pause()
  t.teardown(redis.resume)
  const started = Date.now()
  const res = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } })
  const took = Date.now() - started
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GW_ERR_STORE_UNAVAILABLE')
  t.ok(took >= 400 && took < 1500, `gave up after ${took} ms`)
  const validate = await app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate', headers: { authorization: `Bearer ${pair.access_token}` } })
  t.equal(validate.statusCode, 200, 'tokens are still checked against the local view, which no revocation could have missed: none can be written')
  redis.resume()
  // The refresh gave up on its first command, a read, so its token was never
  // spent: a retry works. (Had it given up on the rotation itself, Redis would
  // have carried it out once awake, and the retry would count as reuse.)
  const retry = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } })
  t.equal(retry.statusCode, 200)
  const later = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'author', password: password('author') } })
  t.equal(later.statusCode, 200, 'answers again once Redis does')
})
