import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { password, redisCommandCountsWithoutAudit, startRedis, startServer, testEnv, USERS } from '../helper.js'

// Two gateway processes on one Redis, as replicas behind a load balancer:
// a key made on one works on the other, checking it costs no Redis command,
// and a key deleted on one is refused by the other within 100 ms.

t.test('API keys across two replicas: no Redis round trip per request, deletion felt within 100 ms', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-apikeys-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = join(dir, 'gateway.yaml')
  writeFileSync(config, 'auth:\n  methods: [jwt, apikey, cookie]\n')
  const redis = await startRedis(t)
  const env = { ...testEnv(), REDIS_URL: redis.url, GATEWAY_CONFIG: config }
  const a = startServer(env)
  const b = startServer(env)
  t.teardown(() => { a.child.kill('SIGKILL'); b.child.kill('SIGKILL') })
  const [portA, portB] = await Promise.all([a.listening, b.listening])
  const A = `http://127.0.0.1:${portA}`
  const B = `http://127.0.0.1:${portB}`
  const monitor = new Redis(redis.url)
  t.teardown(() => monitor.disconnect())

  const json = { 'content-type': 'application/json' }
  const admin = await (await fetch(`${A}/wp-json/api/v1/token`, { method: 'POST', headers: json, body: JSON.stringify({ username: 'admin', password: password('admin') }) })).json() as { access_token: string }
  const asAdmin = { ...json, authorization: `Bearer ${admin.access_token}` }
  const made = await fetch(`${A}/_gateway/admin/api-keys`, { method: 'POST', headers: asAdmin, body: JSON.stringify({ user_id: USERS.editor.id, name: 'replicated' }) })
  t.equal(made.status, 201)
  const { id, key } = await made.json() as { id: string, key: string }
  const onB = () => fetch(`${B}/wp-json/api/v1/token-validate`, { headers: { authorization: `Bearer ${key}` } })
  const first = await onB()
  t.equal(first.status, 200, 'B accepts the key A made')
  t.match(await first.json(), { user: { id: USERS.editor.id, roles: ['editor'] } })

  const before = await redisCommandCountsWithoutAudit(monitor)
  for (let i = 0; i < 50; i++) t.equal((await onB()).status, 200)
  const after = await redisCommandCountsWithoutAudit(monitor)
  const spent = [...after].filter(([name, n]) => name !== 'info' && n !== (before.get(name) ?? 0)).map(([name, n]) => [name, n - (before.get(name) ?? 0)] as const)
  // The only write a use leads to is the batch of last uses, every 5 s: at most one may fall in the window.
  const others = spent.filter(([name]) => name !== 'hset')
  t.same(others, [], `50 validations cost no Redis command besides INFO (saw ${JSON.stringify(spent)})`)
  t.ok((spent.find(([name]) => name === 'hset')?.[1] ?? 0) <= 1, 'and at most one batched write of last uses')

  const sent = Date.now()
  const deleted = await fetch(`${A}/_gateway/admin/api-keys/${id}`, { method: 'DELETE', headers: { authorization: asAdmin.authorization } })
  t.equal(deleted.status, 204)
  const answered = Date.now()
  let res = await onB()
  while (res.status === 200 && Date.now() - answered < 2000) res = await onB()
  const refusedAt = Date.now()
  t.equal(res.status, 401, 'B refuses the deleted key')
  t.equal((await res.json() as { code: string }).code, 'GW_ERR_API_KEY_INVALID')
  const elapsed = refusedAt - answered
  t.comment(`deleted on A, refused on B ${elapsed} ms after A answered (${refusedAt - sent} ms after the delete was sent)`)
  t.ok(elapsed <= 100, `within 100 ms (took ${elapsed} ms)`)
})
