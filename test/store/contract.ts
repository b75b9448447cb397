import type { Test } from 'tap'
import type { Store } from '../../src/store/index.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * One contract for every store implementation (oauth2-proxy pkg/sessions/tests):
 * what the token machinery relies on, held to both the in-process and the
 * Redis store.
 */
export function storeContract (t: Test, make: () => Promise<Store>): void {
  let store: Store
  t.beforeEach(async () => { store = await make() })
  t.afterEach(async () => { await store.close() })

  t.test('ping answers', async (t) => {
    await t.resolves(store.ping())
  })

  t.test('set, get and del', async (t) => {
    t.equal(await store.get('a'), null)
    await store.set('a', 'one', 0)
    t.equal(await store.get('a'), 'one')
    await store.set('a', 'two', 0)
    t.equal(await store.get('a'), 'two', 'set overwrites')
    t.equal(await store.del('a'), true)
    t.equal(await store.del('a'), false, 'deleting twice reports nothing deleted')
    t.equal(await store.get('a'), null)
  })

  t.test('entries expire after their TTL', async (t) => {
    await store.set('short', 'x', 60)
    await store.set('long', 'y', 10_000)
    t.equal(await store.get('short'), 'x')
    await sleep(120)
    t.equal(await store.get('short'), null)
    t.equal(await store.get('long'), 'y')
  })

  t.test('setIfAbsent creates once', async (t) => {
    t.equal(await store.setIfAbsent('k', '1', 10_000), true)
    t.equal(await store.setIfAbsent('k', '2', 10_000), false)
    t.equal(await store.get('k'), '1')
  })

  t.test('take: exactly one of many concurrent callers gets the value', async (t) => {
    await store.set('refresh', 'family-1', 10_000)
    const results = await Promise.all(Array.from({ length: 20 }, () => store.take('refresh')))
    t.same(results.filter((r) => r !== null), ['family-1'])
    t.equal(await store.get('refresh'), null, 'the key is gone')
    t.equal(await store.take('missing'), null)
  })

  t.test('claim: exactly one concurrent caller sees the unclaimed value', async (t) => {
    t.equal(await store.claim('rt', 'used:', 'used:1:', 10_000), null, 'absent keys stay absent')
    t.equal(await store.get('rt'), null, 'and are not created')
    await store.set('rt', '{"sid":"s1"}', 10_000)
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.claim('rt', 'used:', `used:${i}:`, 10_000)))
    const fresh = results.filter((r) => r === '{"sid":"s1"}')
    t.equal(fresh.length, 1, 'one winner')
    const winner = results.indexOf('{"sid":"s1"}')
    t.ok(results.every((r, i) => i === winner || r === `used:${winner}:{"sid":"s1"}`), 'the others see the winner\'s mark and the original value')
    t.equal(await store.get('rt'), `used:${winner}:{"sid":"s1"}`)
  })

  t.test('hash fields', async (t) => {
    t.same(await store.hgetall('h'), {})
    await store.hset('h', 'a', '1')
    await store.hset('h', 'b', '2')
    await store.hset('h', 'a', '3')
    t.equal(await store.hget('h', 'a'), '3')
    t.equal(await store.hget('h', 'zz'), null)
    t.same(await store.hmget('h', ['b', 'zz', 'a']), ['2', null, '3'])
    t.same(await store.hgetall('h'), { a: '3', b: '2' })
    t.equal(await store.hdel('h', ['a', 'zz']), 1)
    t.same(await store.hgetall('h'), { b: '2' })
    t.equal(await store.del('h'), true)
    t.same(await store.hgetall('h'), {})
  })

  t.test('incr counts and keeps the first TTL', async (t) => {
    t.equal(await store.incr('n', 80), 1)
    t.equal(await store.incr('n', 80), 2)
    t.equal(await store.incr('n', 10_000), 3, 'a later TTL does not extend the window')
    await sleep(150)
    t.equal(await store.incr('n', 80), 1, 'the counter restarts after its TTL')
  })

  t.test('publish reaches subscribers until they unsubscribe', async (t) => {
    const got: string[] = []
    const states: boolean[] = []
    const unsubscribe = await store.subscribe('revocations', (m) => got.push(m), (up) => states.push(up))
    t.same(states, [true], 'the subscription reports itself up')
    await store.publish('revocations', 'jti-1')
    await store.publish('other', 'nope')
    for (let i = 0; i < 50 && got.length < 1; i++) await sleep(10)
    t.same(got, ['jti-1'])
    await unsubscribe()
    await store.publish('revocations', 'jti-2')
    await sleep(50)
    t.same(got, ['jti-1'], 'nothing after unsubscribe')
  })
}
