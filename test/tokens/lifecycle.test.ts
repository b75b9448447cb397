import t from 'tap'
import { Redis } from 'ioredis'
import { REDIS_URL, buildTestApp, password, redisStore, session, testRedisStore, throwawayUser, USERS } from '../helper.js'

const refresh = (app: Awaited<ReturnType<typeof buildTestApp>>, token: string) =>
  app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: token } })
const me = (app: Awaited<ReturnType<typeof buildTestApp>>, access: string) =>
  app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${access}` } })

t.test('refresh rotates the pair; the old refresh token dies; tokens are stored only as hashes', async (t) => {
  const store = await testRedisStore()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, { tokens: { refreshTokenTtlSeconds: 3600 } }, { store })
  const first = await session(app, 'editor', password('editor'))
  t.match(first.refresh_token, new RegExp(`^${USERS.editor.id}\\.[A-Za-z0-9_-]{22}\\.[A-Za-z0-9_-]{43}$`), 'user, session and 256 random bits')
  t.equal((first as unknown as { refresh_expires_in: number }).refresh_expires_in, 3600, 'lifetime from config')

  const res = await refresh(app, first.refresh_token)
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  const second = res.json()
  t.not(second.refresh_token, first.refresh_token)
  t.not(second.access_token, first.access_token)
  t.equal(second.user.id, USERS.editor.id)
  t.equal((await me(app, second.access_token)).json().id, USERS.editor.id, 'the new access token works')
  t.equal((await me(app, first.access_token)).statusCode, 200, 'rotation alone does not end earlier access tokens')

  // Nothing in Redis holds a refresh token in clear.
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const keys = await redis.keys('wpag-test:*')
  // Every kind of key the gateway writes, the audit trail's stream included: no token may be in any of them.
  const read = async (k: string): Promise<string | null> => {
    switch (await redis.type(k)) {
      case 'hash': return JSON.stringify(await redis.hgetall(k))
      case 'stream': return JSON.stringify(await redis.xrange(k, '-', '+'))
      case 'string': return await redis.get(k)
      default: throw new Error(`a key of a kind this test does not read: ${k}`)
    }
  }
  const dump = (await Promise.all(keys.map(read))).join('\n') + keys.join('\n')
  for (const token of [first.refresh_token, second.refresh_token]) {
    t.notOk(dump.includes(token.split('.')[2]!), 'the secret part of a refresh token is not stored')
  }
})

t.test('a refresh token used twice ends its whole session', async (t) => {
  const app = await buildTestApp(t)
  const first = await session(app, 'author', password('author'))
  const second = (await refresh(app, first.refresh_token)).json()
  const reused = await refresh(app, first.refresh_token)
  t.equal(reused.statusCode, 401)
  t.equal(reused.json().code, 'GW_ERR_REFRESH_TOKEN_REUSED')
  const after = await refresh(app, second.refresh_token)
  t.equal(after.json().code, 'GW_ERR_REFRESH_TOKEN_INVALID', 'the current refresh token of the family is dead too')
  for (const access of [first.access_token, second.access_token]) {
    const res = await me(app, access)
    t.equal(res.statusCode, 401)
    t.equal(res.json().code, 'GW_ERR_TOKEN_REVOKED', 'and so are the access tokens of the family')
  }
  const other = await session(app, 'author', password('author'))
  t.equal((await me(app, other.access_token)).statusCode, 200, 'another session of the same user lives on')
})

t.test('of concurrent refreshes exactly one wins, and the reuse ends the session for good', async (t) => {
  // Two replicas on one Redis, as in production: the race crosses processes' connections.
  const store = await testRedisStore()
  t.teardown(() => store.close())
  const other = redisStore(REDIS_URL, { keyPrefix: store.keyPrefix })
  await other.connect()
  t.teardown(() => other.close())
  const apps = [await buildTestApp(t, {}, { store }), await buildTestApp(t, {}, { store: other })]
  let winners = 0
  for (let round = 0; round < 30; round++) {
    const pair = await session(apps[0]!, 'contributor', password('contributor'))
    const results = await Promise.all([refresh(apps[0]!, pair.refresh_token), refresh(apps[1]!, pair.refresh_token)])
    const statuses = results.map((r) => r.statusCode).sort()
    t.same(statuses, [200, 401], `two-way round ${round}: one winner`)
    const won = results.find((r) => r.statusCode === 200)?.json()
    if (won === undefined) continue
    winners++
    // The loser's reuse ended the session: the winner's new tokens are dead, now and later.
    t.equal((await refresh(apps[round % 2]!, won.refresh_token)).json().code, 'GW_ERR_REFRESH_TOKEN_INVALID', `round ${round}: no later refresh`)
    t.equal((await me(apps[1]!, won.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', `round ${round}: its access token is refused`)
  }
  t.equal(winners, 30, 'every round had exactly one winner')

  const pair = await session(apps[0]!, 'contributor', password('contributor'))
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(apps[i % 2]!, pair.refresh_token)))
  t.equal(many.filter((r) => r.statusCode === 200).length, 1, 'of 50 concurrent refreshes exactly one wins')
  t.equal(many.filter((r) => r.json().code === 'GW_ERR_REFRESH_TOKEN_REUSED').length, 49, 'the others are reuse')
})

t.test('refresh re-reads the user from WordPress', async (t) => {
  const app = await buildTestApp(t)
  const user = await throwawayUser(t, app, 'author')
  const pair = await session(app, user.login, user.password)
  t.same(pair.user.roles, ['author'])
  const admin = await session(app, 'admin', password('admin'))
  const changed = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: { authorization: `Bearer ${admin.access_token}` }, payload: { roles: ['editor'] } })
  t.equal(changed.statusCode, 200)
  const next = await refresh(app, pair.refresh_token)
  t.equal(next.statusCode, 200)
  t.same(next.json().user.roles, ['editor'], 'the new role is in the refreshed tokens')

  const deleted = await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${user.id}?force=true&reassign=1`, headers: { authorization: `Bearer ${admin.access_token}` } })
  t.equal(deleted.statusCode, 200)
  const gone = await refresh(app, next.json().refresh_token)
  t.equal(gone.statusCode, 401)
  t.equal(gone.json().code, 'GW_ERR_REFRESH_TOKEN_INVALID', 'a deleted user cannot refresh')
})

t.test('malformed and unknown refresh tokens', async (t) => {
  const app = await buildTestApp(t)
  for (const token of ['x', 'a'.repeat(22) + '.' + 'b'.repeat(43), '../../etc', 'a'.repeat(200)]) {
    const res = await refresh(app, token)
    t.equal(res.statusCode, 401, token)
    t.equal(res.json().code, 'GW_ERR_REFRESH_TOKEN_INVALID')
  }
  t.equal((await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: {} })).json().code, 'GW_ERR_BAD_REQUEST')
})

t.test('revoke (RFC 7009) and logout', async (t) => {
  const app = await buildTestApp(t)
  const revoke = (payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload, headers })

  const a = await session(app, 'editor', password('editor'))
  t.equal((await revoke({ token: a.access_token })).statusCode, 200)
  t.equal((await me(app, a.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'a revoked access token is refused')
  t.equal((await refresh(app, a.refresh_token)).statusCode, 401, 'and its session is over')

  const b = await session(app, 'editor', password('editor'))
  const form = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: `token=${b.refresh_token}&token_type_hint=refresh_token`, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(form.statusCode, 200)
  t.equal((await refresh(app, b.refresh_token)).statusCode, 401, 'a revoked refresh token is refused')
  t.equal((await me(app, b.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'its access tokens too')

  for (const token of ['unknown', 'a.b.c', 'x'.repeat(22) + '.' + 'y'.repeat(43)]) {
    const res = await revoke({ token })
    t.equal(res.statusCode, 200, 'unknown tokens get 200 as well')
    t.same(res.json(), {})
  }

  const c = await session(app, 'editor', password('editor'))
  t.equal((await revoke({}, { authorization: `Bearer ${c.access_token}` })).statusCode, 200, 'logout with the bearer token')
  t.equal((await me(app, c.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED')
  t.equal((await refresh(app, c.refresh_token)).statusCode, 401)
  t.equal((await revoke({})).json().code, 'GW_ERR_TOKEN_MISSING', 'logout needs a token')
  const d = await session(app, 'editor', password('editor'))
  const bare = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', headers: { authorization: `Bearer ${d.access_token}` } })
  t.equal(bare.statusCode, 200, 'logout with no body at all (curl -X POST)')
  t.equal((await me(app, d.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED')
  t.equal((await revoke({ token: 42 })).statusCode, 400, 'a token that is not a string is a bad request')
})
