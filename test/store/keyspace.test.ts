import t from 'tap'
import { Redis } from 'ioredis'
import { REDIS_URL, buildTestApp, password, session, testRedisStore } from '../helper.js'

// A bounded keyspace: every key the gateway writes either expires or is pruned
// (docs/architecture.md §7), so the key count stays flat under steady load.

t.test('every key has a TTL, but for the revocation list (pruned) and the generation (one key)', async (t) => {
  const store = await testRedisStore()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, {}, { store })
  const refresh = (token: string) => app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: token } })

  // A bit of everything: logins, rotations, a reuse, revocations, readiness.
  for (let i = 0; i < 3; i++) {
    const pair = await session(app, 'author', password('author'))
    const next = (await refresh(pair.refresh_token)).json()
    if (i === 0) await refresh(pair.refresh_token) // reuse
    if (i === 1) await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: { token: next.access_token } })
  }
  await app.inject({ method: 'GET', url: '/_gateway/readyz' })

  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const keys = await redis.keys(`${store.keyPrefix}*`)
  t.ok(keys.length > 5, `${keys.length} keys written`)
  const permanent = [`${store.keyPrefix}{rev}:list`, `${store.keyPrefix}{rev}:generation`]
  for (const key of keys) {
    const ttl = await redis.pttl(key)
    if (permanent.includes(key)) t.equal(ttl, -1, `${key.slice(store.keyPrefix.length)} lives on (pruned or single)`)
    else t.ok(ttl > 0, `${key.slice(store.keyPrefix.length)} expires (${ttl} ms)`)
  }
  t.ok(keys.some((k) => k.endsWith(':sessions')), 'the sessions index is among them, with a TTL')

  // Lapsed revocations are pruned from the list by the next reload.
  await store.revoke([['jti:lapsed', String(Date.now() - 1)]])
  await app.revocations.resync()
  t.notOk('jti:lapsed' in await store.revocations(), 'a lapsed entry is dropped on reload')
})
