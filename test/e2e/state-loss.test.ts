import t from 'tap'
import { buildTestApp, password, redisStore, session, startRedis } from '../helper.js'

// A Redis that comes back without its data may have lost revocations: every
// replica then refuses every token issued before, says so loudly, and
// logins work again at once (docs/architecture.md §6).

t.test('a store that comes back empty: tokens issued before are refused on every replica, old and new', async (t) => {
  const redis = await startRedis(t)
  const stores = [redisStore(redis.url), redisStore(redis.url)]
  for (const s of stores) {
    await s.connect()
    t.teardown(() => s.close())
  }
  const logs: string[] = []
  const first = await buildTestApp(t, {}, { store: stores[0], logs })
  const second = await buildTestApp(t, {}, { store: stores[1] })
  const me = (app: typeof first, token: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${token}` } })

  const before = await session(first, 'editor', password('editor'))
  // Revoked before the loss: after it, Redis no longer knows (the danger).
  const revokedBefore = await session(first, 'author', password('author'))
  t.equal((await first.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: { token: revokedBefore.access_token } })).statusCode, 200)
  t.equal((await me(second, before.access_token)).statusCode, 200, 'the control: valid on both replicas before')
  t.equal((await me(second, revokedBefore.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED')

  // Tokens carry whole seconds: the loss must come in a later second than the tokens.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  await redis.stop()
  await redis.start()
  for (const app of [first, second]) {
    for (let i = 0; i < 200 && (app.revocations.stats.stateLosses === 0 || !app.revocations.synced); i++) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(first.revocations.stats.stateLosses, 1, 'the first replica noticed')
  t.equal(second.revocations.stats.stateLosses, 1, 'and so did the second')
  t.match(logs.join('\n'), /the store came back without the gateway's state/, 'loudly, in the log')

  for (const [name, app] of [['first', first], ['second', second]] as const) {
    for (const token of [before.access_token, revokedBefore.access_token]) {
      const res = await me(app, token)
      t.equal(res.statusCode, 401, `${name} replica refuses a token issued before`)
      t.equal(res.json().code, 'GW_ERR_TOKEN_REVOKED')
    }
  }
  const late = redisStore(redis.url)
  await late.connect()
  t.teardown(() => late.close())
  const third = await buildTestApp(t, {}, { store: late })
  t.equal((await me(third, revokedBefore.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'a replica started afterwards refuses them too')
  t.equal(third.revocations.stats.stateLosses, 0, 'it saw no loss itself: it only knows the new generation')

  const after = await session(second, 'editor', password('editor'))
  t.equal((await me(first, after.access_token)).statusCode, 200, 'a new login works everywhere')
  t.equal((await first.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: before.refresh_token } })).json().code, 'GW_ERR_REFRESH_TOKEN_INVALID', 'old refresh tokens are gone with the data')
})
