import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ApiKeys } from '../api-keys/index.js'
import { KeyFollowUp } from '../api-keys/follow-up.js'

declare module 'fastify' {
  interface FastifyInstance {
    apiKeys: ApiKeys
    apiKeyFollowUp: KeyFollowUp
  }
}

/** The API keys every replica holds, kept in step with changes to their users. */
async function apiKeysPlugin (app: FastifyInstance): Promise<void> {
  const { maxPerUser, maxLifetimeSeconds } = app.config.auth.apiKeys
  const apiKeys = new ApiKeys(app.store, { hashSecret: app.config.env.hashSecret, maxPerUser, maxLifetimeSeconds }, app.log)
  const followUp = new KeyFollowUp(apiKeys, app.bridge, app.revocations, app.log)
  await apiKeys.start()
  followUp.start()
  app.userChanges.on(async (uid, change) => { await followUp.changed(uid, change) })
  app.decorate('apiKeys', apiKeys)
  app.decorate('apiKeyFollowUp', followUp)
  app.addHook('onClose', async () => {
    followUp.stop()
    await apiKeys.stop()
  })
}

export default fp(apiKeysPlugin, { name: 'api-keys', dependencies: ['store', 'bridge', 'tokens'] })
