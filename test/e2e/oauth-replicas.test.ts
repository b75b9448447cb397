import t from 'tap'
import { password, startRedis, startServer, testEnv, USERS } from '../helper.js'

// Two gateway processes on one Redis, as replicas behind a load balancer:
// a client made on one works on the other, and failed secrets count on both.

t.test('client secret failures on replica A count on replica B', async (t) => {
  const redis = await startRedis(t)
  const env = { ...testEnv(), REDIS_URL: redis.url }
  const a = startServer(env)
  const b = startServer(env)
  t.teardown(() => { a.child.kill('SIGKILL'); b.child.kill('SIGKILL') })
  const [portA, portB] = await Promise.all([a.listening, b.listening])
  const A = `http://127.0.0.1:${portA}`
  const B = `http://127.0.0.1:${portB}`

  const json = { 'content-type': 'application/json' }
  const admin = await (await fetch(`${A}/wp-json/api/v1/token`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'admin', password: password('admin') }) })).json() as { access_token: string }
  const made = await fetch(`${A}/_gateway/admin/clients`, { method: 'POST', headers: { ...json, authorization: `Bearer ${admin.access_token}` }, body: JSON.stringify({ name: 'replicated', user_id: USERS.editor.id, grant_types: ['client_credentials'] }) })
  t.equal(made.status, 201)
  const client = await made.json() as { client_id: string, client_secret: string }
  const grant = (base: string, secret: string) => fetch(`${base}/wp-json/api/v1/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${client.client_id}:${secret}`).toString('base64') },
    body: 'grant_type=client_credentials'
  })

  // B learns of the client made on A (a success also clears the client's count).
  const started = Date.now()
  let status = 0
  while (status !== 200 && Date.now() - started < 2000) status = (await grant(B, client.client_secret)).status
  t.equal(status, 200, `B knows the client made on A (after ${Date.now() - started} ms)`)

  // The default limit is 5 failures per client: two on A, two on B, and the fifth, on A, reaches it.
  const failures = [await grant(A, 'wrong-1'), await grant(B, 'wrong-2'), await grant(A, 'wrong-3'), await grant(B, 'wrong-4'), await grant(A, 'wrong-5')]
  t.same(failures.map((r) => r.status), [401, 401, 401, 401, 429], 'failures on either replica count together')
  const refused = await grant(B, client.client_secret)
  t.equal(refused.status, 429, 'B refuses even the right secret')
  t.ok(Number(refused.headers.get('retry-after')) > 0, 'with Retry-After')
  const onA = await grant(A, client.client_secret)
  t.equal(onA.status, 429, 'and so does A')
  t.equal((await refused.json() as { error: string }).error, 'slow_down')
  t.equal((await onA.json() as { error: string }).error, 'slow_down')
})
