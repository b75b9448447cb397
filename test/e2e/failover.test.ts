import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, password, redisStore, session, startRedis, type TokenPair } from '../helper.js'
import { startCluster, startSentinel } from '../redis-topologies.js'
import { parseTopology } from '../../src/store/redis/topology.js'
import { RedisStore } from '../../src/store/redis/index.js'

// Production Redis fails over, stalls and restarts. Two gateway replicas
// under load must answer 503 (never a wrong 200) while there is no writable
// master, recover by themselves, and never lose a revocation they answered
// 200 for (docs/architecture.md §6 and §7).

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const me = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${token}` } })
const revoke = (app: FastifyInstance, token: string) => app.inject({ method: 'POST', url: '/wp-json/api/v1/token/revoke', payload: { token } })

async function replicas (t: Parameters<typeof buildTestApp>[0], make: () => RedisStore): Promise<FastifyInstance[]> {
  const apps: FastifyInstance[] = []
  for (let i = 0; i < 2; i++) {
    const store = make()
    await store.connect()
    t.teardown(() => store.close())
    apps.push(await buildTestApp(t, {}, { store }))
  }
  return apps
}

/** Protected requests on both replicas every 25 ms, and a revocation every 100 ms, until stopped. */
function underLoad (apps: FastifyInstance[], valid: string, victims: TokenPair[]) {
  const answers: Array<{ at: number, status: number, code?: string }> = []
  const revoked: Array<{ token: string, status: number, at: number }> = []
  const state = { running: true }
  const load = (async () => {
    for (let i = 0; state.running; i++) {
      const res = await me(apps[i % 2]!, valid)
      answers.push({ at: Date.now(), status: res.statusCode, code: res.json().code })
      await sleep(25)
    }
  })()
  const revocations = (async () => {
    for (let i = 0; state.running && i < victims.length; i++) {
      const token = victims[i]!.access_token
      const res = await revoke(apps[i % 2]!, token)
      revoked.push({ token, status: res.statusCode, at: Date.now() })
      await sleep(100)
    }
  })()
  return {
    answers,
    revoked,
    stop: async () => {
      state.running = false
      await Promise.all([load, revocations])
    }
  }
}

/** The first and last 503 and how long it lasted. */
function window (answers: Array<{ at: number, status: number }>): { count: number, ms: number } {
  const failed = answers.filter((a) => a.status === 503)
  return { count: failed.length, ms: failed.length === 0 ? 0 : failed.at(-1)!.at - failed[0]!.at }
}

t.test('Sentinel: the master dies under load; 503s are bounded, recovery needs nobody, no answered revocation is lost', async (t) => {
  const sentinel = await startSentinel(t, { replicas: 1 })
  const apps = await replicas(t, () => redisStore(sentinel.url, { commandTimeoutMs: 500 }))
  const valid = (await session(apps[0]!, 'editor', password('editor'))).access_token
  const victims: TokenPair[] = []
  for (let i = 0; i < 40; i++) victims.push(await session(apps[i % 2]!, 'author', password('author')))

  const load = underLoad(apps, valid, victims)
  await sleep(500)
  const killed = await sentinel.killMaster()
  const failover = await sentinel.waitForFailover()
  const promotedAt = Date.now()
  t.comment(`Sentinel promoted ${failover.host}:${failover.port} ${failover.tookMs} ms after the master died`)
  // Ready again once the store takes writes.
  let readyAfter = -1
  for (let i = 0; i < 200; i++) {
    if ((await apps[1]!.inject({ method: 'GET', url: '/_gateway/readyz' })).statusCode === 200) {
      readyAfter = Date.now() - promotedAt
      break
    }
    await sleep(50)
  }
  await sleep(3000)
  await load.stop()

  const w = window(load.answers)
  t.comment(`${w.count} answers of 503 over ${w.ms} ms, of ${load.answers.length}; ready ${readyAfter} ms after the promotion`)
  t.ok(readyAfter >= 0, 'readiness comes back by itself')
  t.ok(w.ms < 10_000, `the 503 window is bounded (${w.ms} ms)`)
  t.same([...new Set(load.answers.map((a) => a.status))].filter((s) => s !== 200 && s !== 503), [], 'nothing but 200 or 503: never a wrong refusal, never a crash')
  t.ok(load.answers.slice(-20).every((a) => a.status === 200), 'the last answers are all 200 again')

  // Every revocation answered 200 holds, on both replicas and on one started now.
  const acknowledged = load.revoked.filter((r) => r.status === 200)
  t.ok(acknowledged.length > 10, `${acknowledged.length} revocations answered 200, ${load.revoked.length - acknowledged.length} answered 503`)
  t.same([...new Set(load.revoked.map((r) => r.status))].filter((s) => s !== 200 && s !== 503), [], 'a revocation is 200 or 503')
  const fresh = redisStore(sentinel.url)
  await fresh.connect()
  t.teardown(() => fresh.close())
  const late = await buildTestApp(t, {}, { store: fresh })
  for (const app of [...apps, late]) {
    const lost = []
    for (const r of acknowledged) if ((await me(app, r.token)).statusCode !== 401) lost.push(r)
    t.same(lost, [], 'no acknowledged revocation was lost')
  }

  // The old master comes back as a replica: nobody writes to it (no READONLY for good).
  await sentinel.restart(killed.port)
  await sleep(1500)
  const login = await apps[0]!.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: password('editor') } })
  t.equal(login.statusCode, 200, 'logins work with the old master back as a replica')
  t.equal((await revoke(apps[1]!, login.json().access_token)).statusCode, 200, 'and revocations, which wait for it again')
})

t.test('a Redis that hangs: a revocation answered 503 and carried out later is known to every replica once Redis wakes', async (t) => {
  const redis = await startRedis(t, { persist: true })
  const apps = await replicas(t, () => redisStore(redis.url, { commandTimeoutMs: 300 }))
  const victim = await session(apps[0]!, 'author', password('author'))
  t.equal((await me(apps[1]!, victim.access_token)).statusCode, 200)
  redis.pause()
  t.teardown(redis.resume)
  const res = await revoke(apps[0]!, victim.access_token)
  t.equal(res.statusCode, 503, 'the revocation could not be confirmed: 503')
  redis.resume()
  const woke = Date.now()
  let learned = -1
  for (let i = 0; i < 200; i++) {
    if ((await me(apps[1]!, victim.access_token)).statusCode === 401) {
      learned = Date.now() - woke
      break
    }
    await sleep(10)
  }
  t.comment(`the other replica refused the token ${learned} ms after Redis woke`)
  t.ok(learned >= 0 && learned < 2000, 'at once, not at the next 30 s reload')
  t.equal((await me(apps[0]!, victim.access_token)).statusCode, 401, 'and the replica that asked')
})

t.test('Cluster: a master that hangs is replaced, and the gateway follows', async (t) => {
  const cluster = await startCluster(t, { masters: 3, replicasPerMaster: 1, extraArgs: ['--cluster-require-full-coverage', 'no'] })
  const problems: string[] = []
  const topology = parseTopology({ clusterNodes: cluster.nodesEnv }, problems)!
  const apps = await replicas(t, () => new RedisStore({ topology, commandTimeoutMs: 500 }))
  const valid = (await session(apps[0]!, 'editor', password('editor'))).access_token
  const victims: TokenPair[] = []
  for (let i = 0; i < 20; i++) victims.push(await session(apps[0]!, 'author', password('author')))
  // The master of the revocation list's slot: revocations and readiness depend on it.
  const master = await cluster.masterOf('wpag:{rev}:list')
  const load = underLoad(apps, valid, victims)
  await sleep(300)
  cluster.pauseNode(master.index)
  t.teardown(() => cluster.resumeNode(master.index))
  const paused = Date.now()
  let recovered = -1
  for (let i = 0; i < 300; i++) {
    await sleep(50)
    const slot = await cluster.masterOf('wpag:{rev}:list').catch(() => master)
    if (slot.port !== master.port && (await apps[0]!.inject({ method: 'GET', url: '/_gateway/readyz' })).statusCode === 200) {
      recovered = Date.now() - paused
      break
    }
  }
  await sleep(1000)
  await load.stop()
  const w = window(load.answers)
  t.comment(`a replica took over the hung master's slots; the gateway was ready again ${recovered} ms after the hang; ${w.count} answers of 503 over ${w.ms} ms`)
  t.ok(recovered >= 0, 'recovered without anyone')
  t.ok(load.answers.slice(-10).every((a) => a.status === 200), 'answers are 200 again')
  const acknowledged = load.revoked.filter((r) => r.status === 200)
  for (const app of apps) {
    const lost = []
    for (const r of acknowledged) if ((await me(app, r.token)).statusCode !== 401) lost.push(r)
    t.same(lost, [], `no acknowledged revocation was lost (${acknowledged.length} of ${load.revoked.length})`)
  }
})
