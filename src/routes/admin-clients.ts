import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { BadRequest, ClientNotFound, UserNotFound } from '../errors.js'
import { GRANT_TYPES, publicView } from '../oauth/record.js'
import { SCOPE_TOKEN } from '../oauth/scopes.js'
import { ADMIN, DateTime, NoContent } from './schemas.js'

const CreateClient = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 100 }),
  user_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
  grant_types: Type.Array(Type.Union(GRANT_TYPES.map((g) => Type.Literal(g))), { minItems: 1, uniqueItems: true }),
  scopes: Type.Optional(Type.Array(Type.String({ pattern: SCOPE_TOKEN }), { maxItems: 50, uniqueItems: true }))
}, { additionalProperties: false })
type CreateClient = Static<typeof CreateClient>

const Iso = DateTime
const ClientFields = {
  client_id: Type.String(),
  name: Type.String(),
  user_id: Type.Integer(),
  grant_types: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  created_at: Iso,
  previous_secret_expires_at: Type.Optional(Iso)
}
const Client = Type.Object(ClientFields, { additionalProperties: false })
const CreatedClient = Type.Object({ ...ClientFields, client_secret: Type.String({ description: 'Shown once' }) }, { additionalProperties: false, description: 'The client, with its secret' })
const RotatedSecret = Type.Object({
  client_id: Type.String(),
  client_secret: Type.String({ description: 'Shown once' }),
  previous_secret_expires_at: Type.Union([Iso, Type.Null()], { description: 'Until when the old secret still works; null: it stopped at once' })
}, { additionalProperties: false, description: 'The new secret' })

// Any id is accepted here: one that cannot exist is simply not found (404).
const ClientParams = Type.Object({ client_id: Type.String({ maxLength: 128 }) })
type ClientParams = Static<typeof ClientParams>

/**
 * OAuth clients (README, "OAuth 2.0 clients"), registered inside the admin
 * routes so that their guard covers these too. A secret is shown once, when
 * made; listings never show one.
 */
export default async function adminClientRoutes (app: FastifyInstance): Promise<void> {
  const audit = app.audit.action

  app.post<{ Body: CreateClient }>('/_gateway/admin/clients', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Make an OAuth client',
      operationId: 'adminCreateClient',
      security: ADMIN.security,
      body: CreateClient,
      response: { 201: CreatedClient, ...ADMIN.errors({ 404: 'GW_ERR_USER_NOT_FOUND' }) }
    }
  }, async (request, reply) => {
    const { name, user_id: uid, grant_types: grantTypes, scopes = [] } = request.body
    // Refresh tokens come only from the password grant (client_credentials issues none, RFC 6749 §4.4.3).
    if (grantTypes.includes('refresh_token') && !grantTypes.includes('password')) throw new BadRequest('refresh_token needs the password grant.')
    const user = await app.bridge.getUser(uid)
    if (user === null) throw new UserNotFound()
    const { record, secret } = await app.oauthClients.create({ name, user, grantTypes, scopes })
    audit(request, 'client.create', `client:${record.client_id}`, { user: uid, grant_types: grantTypes, scopes })
    return await reply.code(201).header('cache-control', 'no-store').send({ ...publicView(record), client_secret: secret })
  })

  app.get('/_gateway/admin/clients', {
    schema: {
      tags: ADMIN.tags,
      summary: 'List the OAuth clients',
      operationId: 'adminListClients',
      security: ADMIN.security,
      response: { 200: Type.Object({ clients: Type.Array(Client) }, { additionalProperties: false, description: 'Every client, without secrets' }), ...ADMIN.errors() }
    }
  }, async (request) => {
    const clients = await app.oauthClients.list()
    audit(request, 'clients.list', 'clients')
    return { clients: clients.map(publicView) }
  })

  app.delete<{ Params: ClientParams }>('/_gateway/admin/clients/:client_id', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Delete an OAuth client; its tokens stop working',
      operationId: 'adminDeleteClient',
      security: ADMIN.security,
      params: ClientParams,
      response: { 204: NoContent, ...ADMIN.errors({ 404: 'GW_ERR_CLIENT_NOT_FOUND' }) }
    }
  }, async (request, reply) => {
    if (!await app.oauthClients.remove(request.params.client_id)) throw new ClientNotFound()
    audit(request, 'client.delete', `client:${request.params.client_id}`)
    return await reply.code(204).send()
  })

  app.post<{ Params: ClientParams }>('/_gateway/admin/clients/:client_id/secret', {
    schema: {
      tags: ADMIN.tags,
      summary: 'Rotate an OAuth client\'s secret',
      operationId: 'adminRotateClientSecret',
      security: ADMIN.security,
      params: ClientParams,
      response: { 200: RotatedSecret, ...ADMIN.errors({ 404: 'GW_ERR_CLIENT_NOT_FOUND' }) }
    }
  }, async (request, reply) => {
    const rotated = await app.oauthClients.rotateSecret(request.params.client_id)
    if (rotated === undefined) throw new ClientNotFound()
    audit(request, 'client.rotate_secret', `client:${request.params.client_id}`)
    return await reply.header('cache-control', 'no-store').send({
      client_id: request.params.client_id,
      client_secret: rotated.secret,
      previous_secret_expires_at: rotated.previousUntil === undefined ? null : new Date(rotated.previousUntil).toISOString()
    })
  })
}
