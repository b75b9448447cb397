import type { FastifyInstance } from 'fastify'

/** Public keys for verifying access tokens (RFC 7517). Empty for HS256: shared secrets are never published. */
export default async function wellKnownRoutes (app: FastifyInstance): Promise<void> {
  const keys = [...app.keyring.verifiers.values()].flatMap((k) => k.publicJwk === undefined ? [] : [k.publicJwk])
  const body = JSON.stringify({ keys })
  app.get('/.well-known/jwks.json', async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(body)
  })
}
