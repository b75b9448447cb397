import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { ASSERTION_HEADER } from '../bridge/assertion.js'
import { EVENT_TYPES, EVENTS_PATH, EventVerifier } from '../bridge/events.js'
import { errors, NoContent } from './schemas.js'

const Event = Type.Object({
  type: Type.Union(EVENT_TYPES.map((t) => Type.Literal(t))),
  user_id: Type.Integer({ minimum: 1 })
}, { additionalProperties: false })
type Event = Static<typeof Event>

/**
 * The bridge's word that a user changed. Every kind ends all of the user's
 * sessions at once: a new password, a deleted user and a logout obviously;
 * changed roles too, because access tokens carry roles, and the next login
 * reads the new ones from WordPress.
 */
export default async function eventRoutes (app: FastifyInstance): Promise<void> {
  const verifier = new EventVerifier(app.config.env.bridgeSecret, app.store)

  app.post<{ Body: Event }>(EVENTS_PATH, {
    bodyLimit: 4096,
    schema: {
      // Only the bridge can call it (signed with BRIDGE_SECRET): no client's business, so not in the OpenAPI document.
      hide: true,
      body: Event,
      response: { 204: NoContent, ...errors({ 401: 'GW_ERR_EVENT_UNAUTHENTICATED' }) }
    }
  }, async (request, reply) => {
    const event = await verifier.verify(request.headers[ASSERTION_HEADER], request.body)
    const ended = await app.userChanges.changed(event.userId, event.type)
    request.log.info({ audit: { action: `event.${event.type}`, actor: 'wordpress', target: `user:${event.userId}`, sessions: ended } }, 'bridge event')
    app.audit.event({ action: `event.${event.type}`, actor: 'wordpress', target: `user:${event.userId}`, user: event.userId, detail: { sessions: ended } })
    return reply.code(204).send()
  })
}
