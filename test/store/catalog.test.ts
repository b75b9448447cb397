import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import { Catalog } from '../../src/store/catalog.js'
import { redisStore, REDIS_URL, startRedis } from '../helper.js'

const log = pino({ level: 'silent' })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
interface Rec { name: string }
const parse = (raw: string): Rec | undefined => {
  const v = JSON.parse(raw) as Partial<Rec>
  return typeof v.name === 'string' ? { name: v.name } : undefined
}

/** Two replicas: two stores (connections) on one Redis, with the same key prefix. */
async function replicas (t: Test, url = REDIS_URL, prefix = `wpag-test:${randomBytes(6).toString('hex')}:`) {
  const make = async () => {
    const store = redisStore(url, { keyPrefix: prefix, commandTimeoutMs: 300 })
    await store.connect()
    const catalog = new Catalog<Rec>(store, 'apikeys', log, parse)
    await catalog.start()
    t.teardown(async () => { await catalog.stop(); await store.close() })
    return { store, catalog }
  }
  return [await make(), await make()] as const
}

async function until (fn: () => boolean, ms = 1000): Promise<number> {
  const started = Date.now()
  while (!fn()) {
    if (Date.now() - started > ms) throw new Error('timed out')
    await sleep(2)
  }
  return Date.now() - started
}

t.test('a record put or deleted on one replica reaches the other at once', async (t) => {
  const [a, b] = await replicas(t)
  t.equal(b.catalog.get('k1'), undefined)
  await a.catalog.put('k1', { name: 'one' })
  t.same(a.catalog.get('k1'), { name: 'one' }, 'the writer knows at once')
  const learned = await until(() => b.catalog.get('k1') !== undefined)
  t.ok(learned < 100, `the other replica learned it in ${learned} ms`)
  await a.catalog.delete(['k1'])
  t.equal(a.catalog.get('k1'), undefined)
  const forgot = await until(() => b.catalog.get('k1') === undefined)
  t.ok(forgot < 100, `and forgot it in ${forgot} ms`)
})

t.test('a reload that read before a deletion does not bring the record back', async (t) => {
  const [a, b] = await replicas(t)
  await a.catalog.put('k1', { name: 'one' })
  await until(() => b.catalog.get('k1') !== undefined)
  // Hold b's reload between its read and its use: the deletion is announced in between.
  const records = b.store.records.bind(b.store)
  b.store.records = async (name) => {
    const all = await records(name)
    await a.catalog.delete(['k1'])
    await until(() => b.catalog.get('k1') === undefined)
    return all
  }
  await b.catalog.reload()
  t.equal(b.catalog.get('k1'), undefined, 'the announcement made during the reload wins')
})

t.test('records nobody can read are absent, not errors', async (t) => {
  const [a, b] = await replicas(t)
  await a.store.putRecord('apikeys', 'bad', '{"other":1}')
  await b.catalog.reload()
  t.equal(b.catalog.get('bad'), undefined)
  t.equal(b.catalog.size, 0)
})

t.test('without its feed a replica asks the store, and fails closed when the store is gone', async (t) => {
  const redis = await startRedis(t, { persist: true })
  const [a, b] = await replicas(t, redis.url)
  await a.catalog.put('k1', { name: 'one' })
  await until(() => b.catalog.get('k1') !== undefined)
  await redis.stop()
  await until(() => !b.catalog.synced, 3000)
  await t.rejects(Promise.resolve(b.catalog.get('k1')), { code: 'GW_ERR_STORE_UNAVAILABLE' }, 'no answer from a stale view')
  await redis.start()
  await until(() => b.catalog.synced, 5000)
  t.same(b.catalog.get('k1'), { name: 'one' }, 'back in sync by itself')
})
