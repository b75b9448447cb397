import { readFileSync } from 'node:fs'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import { ADMIN_TOKEN_PREFIX } from '../admin/admin-token.js'
import { METRICS_TOKEN_PREFIX } from '../metrics/guard.js'
import { OAUTH_TOKEN_PATH } from '../oauth/metadata.js'
import { SHARED_SCHEMAS } from '../routes/schemas.js'

// src/plugins/ and dist/plugins/ both sit two levels below the package.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

type Requirement = Record<string, string[]>

/**
 * The OpenAPI 3.1 document of the gateway's own endpoints, made by
 * @fastify/swagger from the routes' schemas (served by routes/openapi.ts).
 * Registered before every route: it learns of routes as they are added.
 * The shared schemas (the error body, the token answers) are added here,
 * once, so that routes refer to them by `$id` and the document shows each
 * once under components.
 */
async function openapi (app: FastifyInstance): Promise<void> {
  for (const schema of SHARED_SCHEMAS) app.addSchema(schema)
  const methods = new Set<string>(app.config.auth.methods)
  const schemes: Record<string, object> = {
    bearerJwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from POST /wp-json/api/v1/token or the OAuth token endpoint' },
    ...(methods.has('apikey') ? { apiKey: { type: 'http', scheme: 'bearer', bearerFormat: 'wpgk_<id>_<secret>', description: 'An API key (README, "API keys")' } } : {}),
    ...(methods.has('basic') ? { basic: { type: 'http', scheme: 'basic', description: 'A WordPress login and password or Application Password' } } : {}),
    adminToken: { type: 'http', scheme: 'bearer', bearerFormat: `${ADMIN_TOKEN_PREFIX}…`, description: 'The admin API token (README, "Admin routes"); a WordPress administrator\'s access token works too' },
    metricsToken: { type: 'http', scheme: 'bearer', bearerFormat: `${METRICS_TOKEN_PREFIX}…`, description: 'The metrics token (README, "Metrics")' },
    ...(app.config.dashboard.enabled
      ? { dashboardCookie: { type: 'apiKey', in: 'cookie', name: 'wpag_dash', description: 'The dashboard\'s session (README, "Dashboard"; `__Secure-wpag_dash` over TLS), from POST /_gateway/dashboard/login. Changes made with it also need its CSRF token in X-CSRF-Token and the dashboard\'s own Origin' } }
      : {}),
    clientBasic: { type: 'http', scheme: 'basic', description: 'An OAuth client\'s id and secret (client_secret_basic, RFC 6749 §2.3.1); client_secret_post sends them in the body instead' },
    oauth2: {
      type: 'oauth2',
      description: 'The gateway as an OAuth 2.0 authorization server (README, "OAuth 2.0 clients")',
      flows: {
        password: { tokenUrl: OAUTH_TOKEN_PATH, refreshUrl: OAUTH_TOKEN_PATH, scopes: {} },
        clientCredentials: { tokenUrl: OAUTH_TOKEN_PATH, refreshUrl: OAUTH_TOKEN_PATH, scopes: {} }
      }
    }
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'wp-auth-gateway',
        version,
        description: 'The gateway\'s own endpoints. Everything else under /wp-json/ is WordPress\'s REST API, forwarded after authentication, and is not described here.',
        license: { name: 'MIT', identifier: 'MIT' }
      },
      servers: [{ url: 'http://localhost:8080', description: 'npm run local' }],
      components: { securitySchemes: schemes as never }
    },
    // Shared schemas appear under their own names, not def-0, def-1…
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => typeof json.$id === 'string' ? json.$id : `def-${i}` },
    // A route names every scheme it takes; those of methods not enabled here are left out.
    transform: ({ schema, url }) => {
      const security = (schema as { security?: Requirement[] } | undefined)?.security
      if (security === undefined) return { schema, url }
      return { schema: { ...schema, security: security.filter((r) => Object.keys(r).every((name) => name in schemes)) } as typeof schema, url }
    }
  })
}

export default fp(openapi, { name: 'openapi' })
