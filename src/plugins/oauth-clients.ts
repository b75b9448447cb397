import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { OAuthClients } from '../oauth/clients.js'

declare module 'fastify' {
  interface FastifyInstance {
    oauthClients: OAuthClients
  }
}

/** OAuth 2.0 clients: the catalog every replica keeps, and the check of their secrets. */
async function oauthClientsPlugin (app: FastifyInstance): Promise<void> {
  const { tokens, oauth } = app.config
  const clients = new OAuthClients({
    store: app.store,
    log: app.log,
    bridge: app.bridge,
    revocations: app.revocations,
    throttle: app.throttle,
    hashSecret: app.config.env.hashSecret,
    graceSeconds: oauth.secretRotationGraceSeconds,
    tokenLifetimeMs: () => (Math.max(tokens.accessTokenTtlSeconds, tokens.refreshTokenTtlSeconds) + tokens.clockToleranceSeconds) * 1000
  })
  await clients.catalog.start()
  // The user's cut-off is written before listeners run; the clients then re-read their service user (or go with them).
  app.userChanges.on(async (uid) => { await clients.userChanged(uid) })
  app.decorate('oauthClients', clients)
  app.addHook('onClose', async () => { await clients.catalog.stop() })
}

export default fp(oauthClientsPlugin, { name: 'oauth-clients', dependencies: ['store', 'bridge', 'tokens'] })
