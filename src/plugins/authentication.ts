import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { AuthenticationChain, type Authenticator, type AuthMethod } from '../pipeline/authenticate/index.js'
import { BearerJwtAuthenticator } from '../pipeline/authenticate/bearer-jwt.js'
import { BasicAuthenticator } from '../pipeline/authenticate/basic.js'
import { ApiKeyAuthenticator } from '../pipeline/authenticate/api-key.js'
import { WordPressCookieAuthenticator } from '../pipeline/authenticate/wp-cookie.js'
import { OidcAuthenticator } from '../pipeline/authenticate/oidc.js'
import { Policy } from '../pipeline/policy.js'

declare module 'fastify' {
  interface FastifyInstance {
    authentication: AuthenticationChain
    policy: Policy
  }
}

/**
 * The authenticators, built in one place from `auth.methods`: which are
 * enabled, in which order. The route rules are made here too, since they
 * name methods.
 */
async function authenticationPlugin (app: FastifyInstance): Promise<void> {
  const make: Record<AuthMethod, () => Authenticator | undefined> = {
    jwt: () => new BearerJwtAuthenticator(app.accessTokens, app.revocations),
    cookie: () => new WordPressCookieAuthenticator(app.bridge, app.revocations),
    apikey: () => new ApiKeyAuthenticator(app.apiKeys, app.revocations, app.throttle),
    basic: () => new BasicAuthenticator(app.passwords, app.revocations, app.userChanges, app.config.env.hashSecret, app.config.auth.basic, app.oauthClients),
    oidc: () => new OidcAuthenticator(app.providerTokens)
  }
  const chain = app.config.auth.methods.flatMap((m) => make[m]() ?? [])
  app.decorate('authentication', new AuthenticationChain(chain, app.config.auth.header))
  app.decorate('policy', new Policy(app.config.policy))
}

export default fp(authenticationPlugin, { name: 'authentication', dependencies: ['tokens', 'bridge', 'api-keys', 'oauth-clients', 'providers'] })
