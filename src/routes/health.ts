import type { FastifyInstance } from 'fastify'
import { Type } from '@sinclair/typebox'
import { errors, Security } from './schemas.js'

const Check = Type.Union([Type.Literal('ok'), Type.Literal('unavailable')])
const Readiness = Type.Object({
  status: Check,
  checks: Type.Object({ store: Check, wordpress: Check }, { additionalProperties: false }),
  problems: Type.Array(Type.String()),
  warnings: Type.Array(Type.String())
}, { additionalProperties: false })

/**
 * Liveness and readiness for orchestrators; never forwarded. Ready means the
 * store takes a write (a read-only replica or a full Redis does not) and
 * WordPress accepts the gateway's assertions through the bridge.
 */
export default async function healthRoutes (app: FastifyInstance): Promise<void> {
  app.get('/_gateway/healthz', {
    schema: {
      tags: ['gateway'],
      summary: 'Liveness',
      operationId: 'healthz',
      security: [Security.none],
      response: { 200: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false, description: 'The process is up' }), ...errors() }
    }
  }, async () => ({ status: 'ok' }))

  app.get('/_gateway/readyz', {
    schema: {
      tags: ['gateway'],
      summary: 'Readiness: Redis takes a write and WordPress accepts the gateway',
      operationId: 'readyz',
      security: [Security.none],
      response: { 200: { ...Readiness, description: 'Ready: Redis and WordPress both answer' }, 503: { ...Readiness, description: 'Not ready: checks and problems say why' }, ...errors() }
    }
  }, async (_request, reply) => {
    const problems: string[] = []
    const warnings: string[] = []
    const [store, wordpress] = await Promise.all([
      app.store.set('ready-check', String(Date.now()), 10_000).then(() => 'ok', (err: Error) => {
        problems.push(`store: ${describe(err)}`)
        return 'unavailable'
      }),
      app.bridge.ping().then((info) => {
        if (!info.require_assertion) warnings.push('the bridge lets REST requests without the gateway\'s assertion through (WP_GATEWAY_REQUIRE_ASSERTION is off)')
        if (!info.events) warnings.push('the bridge sends no events: set WP_AUTH_GATEWAY_URL inside WordPress so that password changes end sessions at once')
        return 'ok'
      }, (err: Error) => {
        problems.push(`wordpress: ${describe(err)}`)
        return 'unavailable'
      })
    ])
    const ready = problems.length === 0
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ok' : 'unavailable', checks: { store, wordpress }, problems, warnings })
  })
}

/** An error's own words and its cause's, never a stack. */
function describe (err: Error): string {
  const cause = err.cause instanceof Error ? err.cause.message : undefined
  return cause === undefined || cause === err.message ? err.message : `${err.message} (${cause})`
}
