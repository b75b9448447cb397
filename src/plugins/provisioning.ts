import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Provisioning } from '../providers/provisioning.js'

declare module 'fastify' {
  interface FastifyInstance {
    provisioning: Provisioning
  }
}

/** WordPress users for identity providers' people, found or made through the bridge. */
async function provisioningPlugin (app: FastifyInstance): Promise<void> {
  app.decorate('provisioning', new Provisioning(app.bridge, app.revocations, app.userChanges))
}

export default fp(provisioningPlugin, { name: 'provisioning', dependencies: ['bridge', 'tokens'] })
