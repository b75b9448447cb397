import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { FileConfig } from './config/schema.js'

/**
 * Cross-origin access, decided here and nowhere else (WordPress's own
 * permissive CORS headers are stripped from forwarded answers). Preflights
 * are answered by the gateway without credentials and never forwarded: a
 * preflight carries none, and a route needing a login would refuse it.
 */
async function cors (app: FastifyInstance, opts: FileConfig['cors']): Promise<void> {
  const any = opts.origins.includes('*')
  const origins = new Set(opts.origins.map((o) => o.toLowerCase()))
  const methods = opts.methods.join(', ')
  const headers = [...new Set([...opts.headers, app.config.auth.header])].join(', ')
  const expose = opts.exposeHeaders.join(', ')

  // A callback hook, not an async one: it runs on every request.
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin
    const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined
    const allowed = origin !== undefined && (any || origins.has(origin.toLowerCase()))
    if (allowed) {
      void reply.header('access-control-allow-origin', any && !opts.credentials ? '*' : origin)
      if (opts.credentials) void reply.header('access-control-allow-credentials', 'true')
    }
    void reply.header('vary', 'Origin')
    if (!preflight) {
      if (allowed && expose !== '') void reply.header('access-control-expose-headers', expose)
      done()
      return
    }
    if (allowed) {
      void reply.header('access-control-allow-methods', methods)
        .header('access-control-allow-headers', headers)
        .header('access-control-max-age', String(opts.maxAgeSeconds))
    }
    // Without the allow headers the browser refuses the real request: the answer for a foreign origin.
    void reply.code(204).send()
  })
}

export default fp(cors, { name: 'cors' })
