import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { password, redisCommandCountsWithoutAudit, startRedis, startServer, testEnv } from '../helper.js'

// Two gateway processes on one Redis, as replicas behind a load balancer.

/** Two server processes on a Redis of their own, and a client to that Redis. */
async function twoReplicas (t: Test): Promise<{ A: string, B: string, redis: Redis }> {
  const redis = await startRedis(t)
  const env = { ...testEnv(), REDIS_URL: redis.url }
  const a = startServer(env)
  const b = startServer(env)
  t.teardown(() => { a.child.kill('SIGKILL'); b.child.kill('SIGKILL') })
  const [portA, portB] = await Promise.all([a.listening, b.listening])
  const client = new Redis(redis.url)
  t.teardown(() => client.disconnect())
  return { A: `http://127.0.0.1:${portA}`, B: `http://127.0.0.1:${portB}`, redis: client }
}

/** Commands Redis has run, but for the audit trail's batches and these INFOs. */
async function commandsProcessed (redis: Redis): Promise<number> {
  let n = 0
  for (const [name, calls] of await redisCommandCountsWithoutAudit(redis)) if (name !== 'info') n += calls
  return n
}

t.test('a revocation on one replica is refused on the other within 100 ms, with no Redis round trip per request', async (t) => {
  const { A, B, redis: monitor } = await twoReplicas(t)

  const login = await (await fetch(`${A}/wp-json/api/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'editor', password: password('editor') }) })).json() as { access_token: string }
  const auth = { authorization: `Bearer ${login.access_token}` }
  const onB = () => fetch(`${B}/wp-json/api/v1/token-validate`, { headers: auth })
  t.equal((await onB()).status, 200, 'B accepts the token A issued')

  const before = await commandsProcessed(monitor)
  for (let i = 0; i < 50; i++) await onB()
  const after = await commandsProcessed(monitor)
  t.equal(after - before, 0, '50 validations cost no Redis command')

  const revoked = await fetch(`${A}/wp-json/api/v1/token/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: login.access_token }) })
  t.equal(revoked.status, 200)
  const started = Date.now()
  let status = 200
  while (status === 200 && Date.now() - started < 2000) status = (await onB()).status
  const elapsed = Date.now() - started
  t.equal(status, 401, 'B refuses the revoked token')
  t.ok(elapsed <= 100, `within 100 ms (took ${elapsed} ms)`)
})

t.test('a replica whose subscription drops asks Redis until it has resynchronised', async (t) => {
  const { A, B, redis: admin } = await twoReplicas(t)
  const tokenFor = async () => (await (await fetch(`${A}/wp-json/api/v1/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'author', password: password('author') }) })).json() as { access_token: string }).access_token
  const first = await tokenFor()
  const second = await tokenFor()
  const onB = (token: string) => fetch(`${B}/wp-json/api/v1/token-validate`, { headers: { authorization: `Bearer ${token}` } })

  // Cut every subscriber connection, and revoke before anyone has reconnected.
  await admin.client('KILL', 'TYPE', 'pubsub')
  await fetch(`${A}/wp-json/api/v1/token/revoke`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: first }) })
  const res = await onB(first)
  t.equal(res.status, 401, 'B did not hear of the revocation but refuses the token: it asked Redis')
  t.equal((await res.json() as { code: string }).code, 'GW_ERR_TOKEN_REVOKED')

  // Once resubscribed and reloaded, B answers from its view again.
  let quiet = false
  for (let i = 0; i < 50 && !quiet; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    const before = await commandsProcessed(admin)
    for (let j = 0; j < 10; j++) await onB(second)
    const after = await commandsProcessed(admin)
    quiet = after - before === 0
  }
  t.ok(quiet, 'B stopped asking Redis after resynchronising')
  t.equal((await onB(first)).status, 401, 'and still refuses the revoked token from its view')
  t.equal((await onB(second)).status, 200)
})
