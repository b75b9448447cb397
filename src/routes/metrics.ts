import type { FastifyInstance } from 'fastify'
import { metricsGuard } from '../metrics/guard.js'

/** The Prometheus exposition (README, "Metrics"); never forwarded. */
export default async function metricsRoutes (app: FastifyInstance): Promise<void> {
  const guard = metricsGuard(app)
  app.get('/_gateway/metrics', { preHandler: guard }, async (_request, reply) => {
    const { registry } = app.metrics
    return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(await app.metrics.scrape())
  })
}
