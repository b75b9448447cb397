import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ApiKeys } from '../api-keys/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeys
  }
}

/** The API keys every replica holds, kept in step with changes to their users. */
async function apiKeysPlugin (app: FastifyInstance): Promise<void> {
  const { maxPerUser, maxLifetimeSeconds } = app.config.auth.apiKeys
  const apiKeys = new ApiKeys(app.store, app.bridge, { hashSecret: app.config.env.hashSecret, maxPerUser, maxLifetimeSeconds }, app.log)
  await apiKeys.start()
  app.userChanges.on(async (uid, change) => { await apiKeys.userChanged(uid, change) })
  app.decorate('apiKeys', apiKeys)
  app.addHook('onClose', async () => { await apiKeys.stop() })
}

export default fp(apiKeysPlugin, { name: 'api-keys', dependencies: ['store', 'bridge', 'tokens'] })
