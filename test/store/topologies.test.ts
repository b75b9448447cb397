import t from 'tap'
import { existsSync } from 'node:fs'
import { Cluster, Redis } from 'ioredis'
import { startRedis } from '../helper.js'
import { infoFields, keySlot, redisCommand, startCluster, startSentinel } from '../redis-topologies.js'

// Proves test/redis-topologies.ts with plain ioredis (not the product's
// store): each topology is real, reachable the way a client reaches it, and
// gone afterwards.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Everything the topologies below started, checked at the end for leftovers. */
const started: Array<{ what: string, dir: string, pids: number[] }> = []

/** The port of the server a client's connection is on (INFO server of that very connection). */
async function servedBy (client: Redis): Promise<number> {
  return Number(infoFields(await client.info('server')).tcp_port)
}

/** Retries fn until it resolves; resolves with its value and how long that took. */
async function retryUntil<T> (timeoutMs: number, fn: () => Promise<T>): Promise<{ value: T, tookMs: number, attempts: number }> {
  const start = Date.now()
  let attempts = 0
  for (;;) {
    attempts++
    try {
      return { value: await fn(), tookMs: Date.now() - start, attempts }
    } catch (err) {
      if (Date.now() - start > timeoutMs) throw err
      await sleep(50)
    }
  }
}

t.test('standalone: startRedis from the helper', async (t) => {
  const redis = await startRedis(t)
  const client = new Redis(redis.url, { lazyConnect: true })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.connect()
  await client.set('k', 'v')
  t.equal(await client.get('k'), 'v')
})

t.test('cluster of 3 masters', async (t) => {
  const cluster = await startCluster(t, { masters: 3 })
  t.comment(`3-master cluster up in ${cluster.startupMs} ms`)
  started.push({ what: 'cluster', dir: cluster.dir, pids: cluster.pids() })
  t.equal(cluster.nodes.length, 3)
  t.match(cluster.nodesEnv, /^127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/)
  t.equal(cluster.pids().length, 3)

  for (const key of ['a', 'foo', '{u:1}:a', '{u:1}:b', 'x{}y', 'wpag:session:123']) {
    t.equal(keySlot(key), await redisCommand(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', key]), `keySlot(${key}) agrees with Redis`)
  }

  const client = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })), { enableReadyCheck: true })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await new Promise<void>((resolve, reject) => { client.once('ready', resolve); client.once('end', () => reject(new Error('cluster client ended'))) })
  t.same(client.nodes('master').map((n) => n.options.host), ['127.0.0.1', '127.0.0.1', '127.0.0.1'], 'the nodes announce 127.0.0.1: no natMap needed')

  // One key per master.
  const byMaster = new Map<number, string>()
  for (let i = 0; byMaster.size < 3; i++) {
    const key = `key-${i}`
    const master = await cluster.masterOf(key)
    if (!byMaster.has(master.port)) byMaster.set(master.port, key)
  }
  for (const [port, key] of byMaster) {
    await client.set(key, `on ${port}`)
    t.equal(await client.get(key), `on ${port}`)
    t.equal(await redisCommand(port, ['GET', key]), `on ${port}`, `${key} is stored on the master that serves its slot (${port})`)
    const other = cluster.nodes.find((n) => n.port !== port)!
    await t.rejects(redisCommand(other.port, ['GET', key]), /^MOVED /, 'and another node redirects')
  }

  const script = "redis.call('SET', KEYS[1], ARGV[1]); redis.call('SET', KEYS[2], ARGV[2]); return redis.call('MGET', KEYS[1], KEYS[2])"
  t.same(await client.eval(script, 2, '{u:1}:a', '{u:1}:b', 'one', 'two'), ['one', 'two'], 'a script runs on a hash-tagged key set')
  const [k1, k2] = [...byMaster.values()]
  await t.rejects(client.eval(script, 2, k1!, k2!, 'x', 'y'), /CROSSSLOT/, 'keys of different slots in one script are refused')
})

t.test('cluster with a replica per master: a paused master is replaced', async (t) => {
  const cluster = await startCluster(t, { masters: 3, replicasPerMaster: 1 })
  t.comment(`3+3 cluster up in ${cluster.startupMs} ms`)
  started.push({ what: 'cluster with replicas', dir: cluster.dir, pids: cluster.pids() })
  t.equal(cluster.nodes.length, 6)

  const client = new Cluster(cluster.nodes.map(({ host, port }) => ({ host, port })), {
    // A SIGSTOPped node keeps its connections and answers nothing: only a
    // command timeout ends the wait, and only a slots refresh finds the new master.
    redisOptions: { commandTimeout: 500 },
    slotsRefreshInterval: 1000
  })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.set('{p}k', 'before')

  const old = await cluster.masterOf('{p}k')
  cluster.pauseNode(old.index)
  const write = await retryUntil(20_000, async () => await client.set('{p}k', 'after'))
  t.comment(`a write succeeded ${write.tookMs} ms after pausing the master (${write.attempts} attempts)`)
  await cluster.waitUntilHealthy()
  const now = await cluster.masterOf('{p}k')
  t.not(now.port, old.port, 'another node serves the slot')
  t.equal(await redisCommand(now.port, ['GET', '{p}k']), 'after')

  cluster.resumeNode(old.index)
  await cluster.waitUntilHealthy()
  t.equal(infoFields(await redisCommand(old.port, ['INFO', 'replication'])).role, 'slave', 'the old master comes back as a replica')

  await cluster.stopNode(old.index)
  t.equal(cluster.pids().length, 5)
  await cluster.startNode(old.index)
  t.equal(cluster.pids().length, 6, 'a stopped node starts again')
  started.at(-1)!.pids.push(...cluster.pids())
})

t.test('sentinel: the client follows a failover', async (t) => {
  const set = await startSentinel(t, { replicas: 1, sentinels: 3, masterName: 'wpag' })
  t.comment(`sentinel set-up (1 master, 1 replica, 3 sentinels) up in ${set.startupMs} ms`)
  started.push({ what: 'sentinel', dir: set.dir, pids: set.pids() })
  t.match(set.url, /^redis\+sentinel:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+\/wpag$/)
  t.same(await set.currentMaster(), { host: '127.0.0.1', port: set.master.port })

  const client = new Redis({
    sentinels: set.sentinels,
    name: set.masterName,
    lazyConnect: true
    // The defaults do here: a killed master closes the connection, and the
    // reconnect asks the sentinels again (sentinelRetryStrategy: up to 1 s
    // between rounds); the ready check (enableReadyCheck, on by default)
    // makes sure the node it lands on really is a master.
  })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  await client.connect()
  t.equal(await servedBy(client), set.master.port, 'the client is on the master the sentinels name')
  await client.set('k', 'before')
  t.equal(await client.wait(1, 2000), 1, 'the replica has the write')

  const killed = await set.killMaster()
  t.equal(killed.port, set.master.port)
  const write = await retryUntil(10_000, async () => await client.set('k2', 'after'))
  const failover = await set.waitForFailover(10_000)
  t.comment(`failover: sentinels agree on a new master ${failover.tookMs} ms after the kill; the client wrote ${write.tookMs} ms after it`)
  t.ok(write.tookMs < 10_000, 'a write succeeds within 10 s')
  t.not(failover.port, killed.port)
  t.equal(await servedBy(client), failover.port, 'the client is on the new master')
  t.equal(await client.get('k'), 'before', 'what the replica had survives')

  await set.restart(killed.port)
  await retryUntil(10_000, async () => {
    const info = infoFields(await redisCommand(killed.port, ['INFO', 'replication']))
    if (info.role !== 'slave' || Number(info.master_port) !== failover.port || info.master_link_status !== 'up') throw new Error('not a replica yet')
  })
  t.pass('the old master comes back as a replica of the new one')
})

t.test('sentinel with passwords', async (t) => {
  const password = 'data-secret'
  const sentinelPassword = 'sentinel-secret'
  const set = await startSentinel(t, { password, sentinelPassword })
  t.comment(`sentinel set-up with passwords up in ${set.startupMs} ms`)
  started.push({ what: 'sentinel with passwords', dir: set.dir, pids: set.pids() })

  await t.rejects(redisCommand(set.master.port, ['PING']), /NOAUTH/, 'the master wants a password')
  await t.rejects(redisCommand(set.sentinels[0]!.port, ['SENTINEL', 'MASTERS']), /NOAUTH/, 'so do the sentinels')

  const connect = async (opts: { password?: string, sentinelPassword?: string }, errors: Error[] = []) => {
    const client = new Redis({
      sentinels: set.sentinels,
      name: set.masterName,
      ...opts,
      lazyConnect: true,
      sentinelRetryStrategy: () => null,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0
    })
    client.on('error', (err: Error) => errors.push(err))
    t.teardown(() => client.disconnect())
    await client.connect()
    return client
  }

  const good = await connect({ password, sentinelPassword })
  await good.set('k', 'v')
  t.equal(await good.get('k'), 'v', 'with both passwords')
  t.equal(await servedBy(good), set.master.port)

  await t.rejects(connect({ password }), /sentinels are unreachable/, 'without the sentinel password')
  await t.rejects(connect({ password, sentinelPassword: 'wrong' }), /sentinels are unreachable/, 'with a wrong sentinel password')
  // The sentinels answer; the master refuses the ready check, and the client gives up.
  const errors: Error[] = []
  await t.rejects(connect({ sentinelPassword }, errors).then(async (c) => await c.get('k')), 'without the data password')
  t.match(errors.map((e) => e.message).join('\n'), /NOAUTH/, 'because the master wants a password')
})

t.test('nothing is left running or on disk', async (t) => {
  t.equal(started.length, 4)
  for (const { what, dir, pids } of started) {
    t.notOk(existsSync(dir), `${what}: ${dir} is gone`)
    for (const pid of pids) t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, `${what}: pid ${pid} is gone`)
  }
})
