import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyServerOptions } from 'fastify'
import type { Config } from './config/schema.js'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    /** Stages 1-4 (src/pipeline/gate.ts): in front of everything forwarded, and behind POST /_gateway/admin/explain. */
    gate: Gate
  }
}
import type { Store } from './store/index.js'
import storePlugin from './plugins/store.js'
import bridgePlugin from './plugins/bridge.js'
import tokensPlugin from './plugins/tokens.js'
import apiKeysPlugin from './plugins/api-keys.js'
import provisioningPlugin from './plugins/provisioning.js'
import providersPlugin from './plugins/providers.js'
import accountsPlugin from './plugins/accounts.js'
import authenticationPlugin from './plugins/authentication.js'
import oauthClientsPlugin from './plugins/oauth-clients.js'
import dashboardPlugin from './plugins/dashboard.js'
import errorHandler from './error-handler.js'
import audit from './pipeline/audit.js'
import metricsPlugin from './plugins/metrics.js'
import openapiPlugin from './plugins/openapi.js'
import healthRoutes from './routes/health.js'
import metricsRoutes from './routes/metrics.js'
import wellKnownRoutes from './routes/well-known.js'
import tokenRoutes from './routes/token.js'
import revokeRoutes from './routes/revoke.js'
import eventRoutes from './routes/events.js'
import adminRoutes from './routes/admin.js'
import apiKeyRoutes from './routes/api-keys.js'
import oauthRoutes from './routes/oauth.js'
import dashboardRoutes from './routes/dashboard.js'
import openapiRoutes from './routes/openapi.js'
import accountRoutes from './routes/accounts.js'
import forward from './pipeline/forward.js'
import { createGate, type Gate } from './pipeline/gate.js'
import { RateLimits } from './throttle/rate-limits.js'
import cors from './cors.js'
import { clientErrorHandler } from './client-errors.js'
import { restErrorBody } from './errors.js'
import type { Tracing } from './tracing/index.js'

export interface BuildOptions {
  logger?: FastifyServerOptions['logger']
  store?: Store
  /** The process's tracing (src/tracing), when it is on: a span per request, the WordPress hop under it. */
  tracing?: Tracing
}

/**
 * The gateway as a Fastify instance. Registration order is the security
 * order: shared services, the error handler, the gateway's own endpoints,
 * then the pipeline in front of everything forwarded to WordPress.
 */
export async function buildApp (config: Config, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: opts.logger ?? { level: config.server.logLevel },
    bodyLimit: config.server.bodyLimit,
    requestTimeout: config.server.requestTimeoutMs,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    connectionTimeout: config.server.requestTimeoutMs,
    trustProxy: config.server.trustProxy,
    return503OnClosing: true,
    clientErrorHandler,
    // A path Fastify's router cannot decode (a malformed escape) gets the gateway's shape too.
    frameworkErrors: (err, _request, res) => {
      const reply = res as unknown as FastifyReply
      void reply.code(400).header('cache-control', 'no-store').send(restErrorBody('GW_ERR_ROUTE_AMBIGUOUS', `The request could not be classified unambiguously: ${err.message}`, 400))
    },
    // No type coercion: `password: ["x"]` is a bad request, not the string "x".
    // Unknown fields are refused, not silently dropped (Ajv's removeAdditional), where a schema says additionalProperties: false.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    // One log line per request costs more than the gateway's own work; the audit stage records decisions.
    logController: new LogController({ disableRequestLogging: true })
  })
  app.decorateRequest('gateway', null)
  app.decorate('config', config)
  // First, so that its onRoute hook sees every route. Off: nothing registered, no hook on any request.
  if (opts.tracing !== undefined) await app.register(opts.tracing.plugin)

  // The long-lived parts, each a plugin that names what it needs.
  await app.register(storePlugin, { store: opts.store })
  await app.register(bridgePlugin)
  await app.register(tokensPlugin)
  await app.register(apiKeysPlugin)
  // Before authentication: the Basic method authenticates clients too.
  await app.register(oauthClientsPlugin)
  await app.register(provisioningPlugin)
  // Before authentication: the oidc method verifies provider tokens with it.
  await app.register(providersPlugin)
  await app.register(authenticationPlugin)
  await app.register(accountsPlugin)
  // After authentication: the admin guard accepts dashboard sessions beside the chain's credentials.
  await app.register(dashboardPlugin)
  await app.register(errorHandler)
  await app.register(audit)
  await app.register(metricsPlugin)
  // Before any route: preflights are answered here, without credentials.
  await app.register(cors, config.cors)
  // Before any route: it describes each route as it is added.
  await app.register(openapiPlugin)

  app.decorate('gate', createGate({
    policy: app.policy,
    auth: app.authentication,
    site: config.site,
    bodyLimit: config.server.bodyLimit,
    resolve: { maxVars: config.upstream.maxInputVars },
    limits: new RateLimits(app.store)
  }))

  await app.register(healthRoutes)
  await app.register(metricsRoutes)
  await app.register(wellKnownRoutes)
  await app.register(tokenRoutes)
  await app.register(revokeRoutes)
  await app.register(eventRoutes)
  await app.register(adminRoutes)
  await app.register(apiKeyRoutes)
  await app.register(oauthRoutes)
  await app.register(dashboardRoutes)
  await app.register(openapiRoutes)
  await app.register(accountRoutes)

  await app.register(forward, {
    upstream: config.env.wordpressUrl,
    signer: app.assertions,
    guardedHeaders: app.authentication.guardedHeaders,
    propagatedHeaders: opts.tracing?.propagatedHeaders,
    timeoutMs: config.upstream.timeoutMs,
    connections: config.upstream.connections,
    bodyLimit: config.server.bodyLimit,
    policy: app.policy,
    loginCookies: config.site.loginCookies,
    gate: app.gate
  })
  return app
}
