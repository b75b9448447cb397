import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { createStore, type Store } from '../store/index.js'
import { Throttle } from '../throttle/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    store: Store
    throttle: Throttle
  }
}

export interface StorePluginOptions {
  /** A store made by the caller (tests share one); otherwise made from REDIS_URL or REDIS_CLUSTER_NODES. */
  store?: Store | undefined
}

/** The shared store, and the attempt counters kept in it. */
async function storePlugin (app: FastifyInstance, opts: StorePluginOptions): Promise<void> {
  const { config } = app
  const store = opts.store ?? await createStore(config.env.redis, {
    commandTimeoutMs: config.store.commandTimeoutMs,
    waitReplicas: config.store.waitReplicas,
    waitTimeoutMs: config.store.waitTimeoutMs
  }, app.log)
  app.decorate('store', store)
  app.decorate('throttle', new Throttle(store, config.auth.throttle))
  if (opts.store === undefined) app.addHook('onClose', async () => { await store.close() })
}

export default fp(storePlugin, { name: 'store' })
