import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { ASSERTION_HEADER } from '../bridge/assertion.js'
import { EVENTS_PATH, EventVerifier } from '../bridge/events.js'

const Event = Type.Object({
  type: Type.Union([Type.Literal('password_changed'), Type.Literal('roles_changed'), Type.Literal('user_deleted'), Type.Literal('logout')]),
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

  app.post<{ Body: Event }>(EVENTS_PATH, { bodyLimit: 4096, schema: { body: Event } }, async (request, reply) => {
    await verifier.verify(request.headers[ASSERTION_HEADER])
    const ended = await app.sessions.revokeUser(request.body.user_id)
    request.log.info({ audit: { action: `event.${request.body.type}`, actor: 'wordpress', target: `user:${request.body.user_id}`, sessions: ended } }, 'bridge event')
    return reply.code(204).send()
  })
}
