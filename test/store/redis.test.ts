import t from 'tap'
import { redisStore, testRedisStore } from '../helper.js'
import { storeContract } from './contract.js'

t.test('contract against a real Redis', async (t) => {
  storeContract(t, testRedisStore)
})

t.test('an unreachable Redis fails fast with GW_ERR_STORE_UNAVAILABLE', async (t) => {
  // Port 1 on loopback: nothing listens there, so the connection is refused.
  const store = redisStore('redis://127.0.0.1:1', { commandTimeoutMs: 200 })
  t.teardown(() => store.close())
  const started = Date.now()
  await t.rejects(store.connect(), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  await t.rejects(store.get('x'), { code: 'GW_ERR_STORE_UNAVAILABLE' })
  t.ok(Date.now() - started < 3000, 'no hang')
})
