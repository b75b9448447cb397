import type { FastifyBaseLogger } from 'fastify'
import { MemoryStore } from './memory.js'
import { RedisStore } from './redis.js'
import type { Store } from './store.js'

export type { Store } from './store.js'

/** REDIS_URL set: Redis, shared by every replica. Unset: in-process, one instance only. */
export async function createStore (redisUrl: string | undefined, log: FastifyBaseLogger): Promise<Store> {
  if (redisUrl === undefined) {
    log.warn('REDIS_URL is not set: using the in-process store. Tokens, revocations and sessions live in this process only; do not run more than one replica like this.')
    return new MemoryStore()
  }
  const store = new RedisStore({ url: redisUrl })
  await store.connect()
  return store
}
