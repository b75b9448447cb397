import t from 'tap'
import { randomBytes } from 'node:crypto'
import { RedisStore } from '../../src/store/redis/index.js'
import { parseTopology } from '../../src/store/redis/topology.js'
import { startCluster, startSentinel } from '../redis-topologies.js'
import { storeContract } from './contract.js'

// The store contract against a real Redis Cluster (3 masters: every atomic
// step on one slot) and a real Sentinel set-up with passwords (a replica,
// so that revocations wait for it), as the gateway reaches them from its
// environment (REDIS_CLUSTER_NODES; REDIS_URL=redis+sentinel://…).

function store (env: { url?: string, clusterNodes?: string, password?: string, sentinelPassword?: string }): RedisStore {
  const problems: string[] = []
  const topology = parseTopology(env, problems)
  if (topology === undefined) throw new Error(problems.join('; '))
  return new RedisStore({ topology, keyPrefix: `wpag-test:${randomBytes(6).toString('hex')}:` })
}

t.test('contract against a Redis Cluster of 3 masters', async (t) => {
  const cluster = await startCluster(t, { masters: 3 })
  storeContract(t, async () => {
    const s = store({ clusterNodes: cluster.nodesEnv })
    await s.connect()
    return s
  })
})

t.test('contract against Sentinel, with master and sentinel passwords', async (t) => {
  const sentinel = await startSentinel(t, { replicas: 1, password: 'master-password-123', sentinelPassword: 'sentinel-password-456' })
  storeContract(t, async () => {
    const s = store({ url: sentinel.url, password: sentinel.password, sentinelPassword: sentinel.sentinelPassword })
    await s.connect()
    return s
  })
})

t.test('a Cluster node given as REDIS_URL is refused with a line that says what to set', async (t) => {
  const cluster = await startCluster(t, { masters: 3 })
  const s = store({ url: cluster.nodes[0]!.url })
  t.teardown(() => s.close())
  await t.rejects(s.connect(), { code: 'GW_ERR_STORE_UNAVAILABLE', cause: { message: /set REDIS_CLUSTER_NODES instead of REDIS_URL/ } })
})

t.test('the environment, read into topologies', async (t) => {
  const read = (env: Parameters<typeof parseTopology>[0]) => {
    const problems: string[] = []
    return { topology: parseTopology(env, problems), problems }
  }
  t.match(read({ url: 'redis://:p%40ss@cache:6380/2' }).topology, { mode: 'standalone', node: { host: 'cache', port: 6380 }, db: 2, password: 'p@ss', tls: false })
  t.match(read({ url: 'rediss://cache' }).topology, { mode: 'standalone', node: { port: 6379 }, tls: true })
  t.match(read({ url: 'redis+sentinel://s1:26379,s2,[::1]:26380/mymaster', password: 'm', sentinelPassword: 's' }).topology, {
    mode: 'sentinel', name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }, { host: '::1', port: 26380 }], password: 'm', sentinelPassword: 's'
  })
  t.match(read({ url: 'rediss+sentinel://s1/m/3' }).topology, { mode: 'sentinel', db: 3, tls: true })
  t.match(read({ clusterNodes: 'n1:7000, n2:7001' }).topology, { mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }], tls: false })
  t.match(read({ clusterNodes: 'rediss://n1:7000,rediss://n2:7001' }).topology, { mode: 'cluster', tls: true })
  t.match(read({ url: 'redis://a:1', clusterNodes: 'b:2' }).problems, [/both set/])
  t.match(read({ url: 'redis+sentinel://s1:26379' }).problems, [/names the master after the hosts/])
  t.match(read({ url: 'redis://a:1,b:2' }).problems, [/names one host/])
  t.match(read({ url: 'http://a' }).problems, [/^REDIS_URL: must be/])
  t.match(read({ clusterNodes: 'rediss://a:1,b:2' }).problems, [/rediss:\/\/ for every node or for none/])
  t.match(read({ url: 'redis://:x@a', password: 'y' }).problems, [/keep one/])
})
