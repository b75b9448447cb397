import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { errors, Security } from './schemas.js'

const Jwks = Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), kty: Type.String() }, { additionalProperties: true })) }, { additionalProperties: false })

/** Public keys for verifying access tokens (RFC 7517). Empty for HS256: shared secrets are never published. */
export default async function wellKnownRoutes (app: FastifyInstance): Promise<void> {
  const keys = [...app.keyring.verifiers.values()].flatMap((k) => k.publicJwk === undefined ? [] : [k.publicJwk])
  const body = JSON.stringify({ keys })
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['gateway'],
      summary: 'Public keys that verify access tokens (RFC 7517)',
      operationId: 'jwks',
      security: [Security.none],
      // Sent as text made once: the schema documents it, the serializer never sees it.
      response: { 200: { description: 'The RS256/ES256/EdDSA public keys; empty for HS256', content: { 'application/jwk-set+json': { schema: Jwks } } }, ...errors() }
    }
  }, async (_request, reply) => {
    return reply.header('cache-control', 'public, max-age=300').type('application/jwk-set+json').send(body)
  })
}
