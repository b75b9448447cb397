import type { FastifyInstance } from 'fastify'

/** Liveness and readiness for orchestrators; never forwarded. */
export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  app.get('/_gateway/healthz', async () => ({ status: 'ok' }))

  app.get('/_gateway/readyz', async (_request, reply) => {
    const [store, wordpress] = await Promise.all([
      app.store.ping().then(() => 'ok', () => 'unavailable'),
      app.bridge.ping().then(() => 'ok', () => 'unavailable')
    ])
    const ready = store === 'ok' && wordpress === 'ok'
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', checks: { store, wordpress } })
  })
}
