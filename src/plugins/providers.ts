import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ProviderTokens } from '../providers/provider-tokens.js'
import { ProviderVerifier } from '../providers/verify.js'

declare module 'fastify' {
  interface FastifyInstance {
    providerTokens: ProviderTokens
  }
}

/** Tokens of the identity providers under `providers:` (issue 12), for the oidc method and the token-exchange grant. */
async function providersPlugin (app: FastifyInstance): Promise<void> {
  app.decorate('providerTokens', new ProviderTokens(new ProviderVerifier(app.config.providers), app.provisioning, app.revocations, app.userChanges, app.config.env.providerSecrets))
}

export default fp(providersPlugin, { name: 'providers', dependencies: ['tokens', 'provisioning'] })
