import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AssertionSigner } from '../bridge/assertion.js'
import { BridgeClient } from '../bridge/client.js'
import { Passwords } from '../throttle/password.js'

declare module 'fastify' {
  interface FastifyInstance {
    assertions: AssertionSigner
    bridge: BridgeClient
  }
}

/** The signed statements to WordPress, the client of the bridge's own routes, and the throttled password check built on it. */
async function bridgePlugin (app: FastifyInstance): Promise<void> {
  const assertions = new AssertionSigner(app.config.env.bridgeSecret)
  const bridge = new BridgeClient(app.config.env.wordpressUrl, assertions, app.config.upstream.timeoutMs)
  app.decorate('assertions', assertions)
  app.decorate('bridge', bridge)
  app.decorate('passwords', new Passwords(bridge, app.throttle, app.config.env.hashSecret))
  app.addHook('onClose', async () => { await bridge.close() })
}

export default fp(bridgePlugin, { name: 'bridge', dependencies: ['store'] })
