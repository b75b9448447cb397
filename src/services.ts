import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from './config/schema.js'
import { createStore, type Store } from './store/index.js'
import { loadKeyring, type Keyring } from './tokens/keys.js'
import { AccessTokens } from './tokens/access-token.js'
import { Revocations } from './tokens/revocation.js'
import { Sessions } from './tokens/sessions.js'
import { AssertionSigner } from './bridge/assertion.js'
import { BridgeClient } from './bridge/client.js'
import { AuthenticationChain } from './pipeline/authenticate/index.js'
import { BearerJwtAuthenticator } from './pipeline/authenticate/bearer-jwt.js'
import { Policy } from './pipeline/policy.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    store: Store
    keyring: Keyring
    accessTokens: AccessTokens
    assertions: AssertionSigner
    revocations: Revocations
    sessions: Sessions
    bridge: BridgeClient
    authentication: AuthenticationChain
    policy: Policy
  }
}

export interface ServicesOptions {
  config: Config
  /** A store made by the caller (tests share one); otherwise made from REDIS_URL or REDIS_CLUSTER_NODES. */
  store?: Store | undefined
}

/** The long-lived parts every stage and route uses, made once per app. */
async function services (app: FastifyInstance, { config, store }: ServicesOptions): Promise<void> {
  const keyring = await loadKeyring(config)
  const accessTokens = new AccessTokens(keyring, {
    issuer: config.tokens.issuer,
    audience: config.tokens.audience,
    ttlSeconds: config.tokens.accessTokenTtlSeconds,
    clockToleranceSeconds: config.tokens.clockToleranceSeconds
  })
  const assertions = new AssertionSigner(config.env.bridgeSecret)
  const ownStore = store === undefined
  const theStore = store ?? await createStore(config.env.redis, {
    commandTimeoutMs: config.store.commandTimeoutMs,
    waitReplicas: config.store.waitReplicas,
    waitTimeoutMs: config.store.waitTimeoutMs
  }, app.log)

  const revocations = new Revocations(theStore, app.log)
  await revocations.start()
  const sessions = new Sessions(theStore, revocations, {
    refreshTtlSeconds: config.tokens.refreshTokenTtlSeconds,
    accessTtlSeconds: config.tokens.accessTokenTtlSeconds,
    clockToleranceSeconds: config.tokens.clockToleranceSeconds
  }, app.log)

  app.decorate('config', config)
  app.decorate('store', theStore)
  app.decorate('revocations', revocations)
  app.decorate('sessions', sessions)
  app.decorate('keyring', keyring)
  app.decorate('accessTokens', accessTokens)
  app.decorate('assertions', assertions)
  app.decorate('bridge', new BridgeClient(config.env.wordpressUrl, assertions, config.upstream.timeoutMs))
  app.decorate('authentication', new AuthenticationChain([new BearerJwtAuthenticator(accessTokens, revocations)], config.auth.header))
  app.decorate('policy', new Policy(config.policy))

  app.addHook('onClose', async () => {
    await revocations.stop()
    await app.bridge.close()
    if (ownStore) await theStore.close()
  })
}

export default fp(services, { name: 'services' })
