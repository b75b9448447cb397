import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { errors } from './schemas.js'

export const OPENAPI_PATH = '/_gateway/openapi.json'

/**
 * The OpenAPI 3.1 document of the gateway's own endpoints (README, "OpenAPI
 * and Postman"). Public: it describes only what the README already does,
 * never WordPress's routes, the configuration or a secret.
 */
export default async function openapiRoutes (app: FastifyInstance): Promise<void> {
  let body: string | undefined
  app.get(OPENAPI_PATH, {
    schema: {
      tags: ['gateway'],
      summary: 'This OpenAPI document',
      operationId: 'openapi',
      security: [],
      response: { 200: Type.Object({}, { additionalProperties: true, description: 'An OpenAPI 3.1 document' }), ...errors() }
    }
  }, async (_request, reply) => {
    // Made once, after every route is known; sent as text so the serializer leaves it whole.
    body ??= JSON.stringify(app.swagger())
    return reply.type('application/json; charset=utf-8').header('cache-control', 'public, max-age=300').send(body)
  })
}
