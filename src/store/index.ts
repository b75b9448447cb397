import type { FastifyBaseLogger } from 'fastify'
import { MemoryStore } from './memory.js'
import { RedisStore, type RedisStoreOptions } from './redis/index.js'
import { describeTopology, type Topology } from './redis/topology.js'
import type { Store } from './store.js'

export type { Store, Rotation } from './store.js'
export type { Topology } from './redis/topology.js'

export type StoreSettings = Omit<RedisStoreOptions, 'topology' | 'onError'>

/** A topology configured: Redis, shared by every replica. None: in-process, one instance only. */
export async function createStore (topology: Topology | undefined, settings: StoreSettings, log: FastifyBaseLogger): Promise<Store> {
  if (topology === undefined) {
    log.warn('REDIS_URL is not set: using the in-process store. Tokens, revocations and sessions live in this process only; do not run more than one replica like this.')
    return new MemoryStore()
  }
  const store = new RedisStore({ ...settings, topology })
  await store.connect()
  log.info(`store: ${describeTopology(topology)}`)
  return store
}
