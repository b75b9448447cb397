import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { metricsGuard } from '../metrics/guard.js'
import { errors, Security } from './schemas.js'

/** The Prometheus exposition (README, "Metrics"); never forwarded. */
export default async function metricsRoutes (app: FastifyInstance): Promise<void> {
  const guard = metricsGuard(app)
  app.get('/_gateway/metrics', {
    preHandler: guard,
    schema: {
      tags: ['gateway'],
      summary: 'Prometheus metrics',
      operationId: 'metrics',
      security: [Security.metricsToken, Security.adminToken, Security.jwt],
      response: {
        200: { description: 'The Prometheus text exposition', content: { 'text/plain': { schema: Type.String() } } },
        ...errors({ 401: 'No credentials', 403: 'GW_ERR_FORBIDDEN: neither a token for metrics nor an administrator' })
      }
    }
  }, async (_request, reply) => {
    const { registry } = app.metrics
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(await app.metrics.scrape())
  })
}
