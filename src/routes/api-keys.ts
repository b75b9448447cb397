import type { FastifyInstance, FastifyRequest, FastifySchemaCompiler } from 'fastify'
import type { TSchema } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { adminGuard } from '../admin/guard.js'
import type { ApiKeyRecord, ListedApiKey } from '../api-keys/index.js'
import { ApiKeyNotFound, AuthMethodRefused, TokenMissing, UserNotFound } from '../errors.js'
import type { Identity } from '../pipeline/authenticate/identity.js'
import { SCHEMAS, type AdminCreate, type KeyParams, type ListQuery, type OwnCreate } from './api-keys-schemas.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** On the self-service routes: who is managing their own keys. */
    keyOwner: Identity | null
  }
}

export const ADMIN_API_KEYS_PATH = '/_gateway/admin/api-keys'
export const API_KEYS_PATH = '/wp-json/api/v1/api-keys'
const SMALL_BODY = 8 * 1024

const KEY_ID = /^[0-9a-f]{24}$/

/**
 * Fastify's Ajv drops unknown fields (removeAdditional); these routes refuse
 * them instead, checking with TypeBox (every schema here is one).
 */
const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const compiled = TypeCompiler.Compile(schema as TSchema)
  return (data) => {
    if (compiled.Check(data)) return { value: data }
    const first = compiled.Errors(data).First()
    return { error: new Error(`${httpPart ?? 'request'}${first?.path ?? ''}: ${first?.message ?? 'invalid'}`) }
  }
}

const iso = (ms: number | null) => ms === null ? null : new Date(ms).toISOString()
const created = (r: ApiKeyRecord, key: string) => ({ id: r.id, key, name: r.name, user_id: r.userId, scopes: r.scopes, expires_at: iso(r.expiresAt), created_at: iso(r.createdAt) })
const listed = (r: ListedApiKey) => ({
  id: r.id,
  name: r.name,
  user_id: r.userId,
  kind: r.kind,
  scopes: r.scopes,
  expires_at: iso(r.expiresAt),
  created_at: iso(r.createdAt),
  last_used_at: iso(r.lastUse?.at ?? null),
  last_used_ip: r.lastUse?.ip ?? null
})

/**
 * API keys (README, "API keys"): administrators make universal keys for any
 * user under /_gateway/admin/; users make, list and delete their own under
 * /wp-json/api/v1/. Answered by the gateway, never forwarded.
 */
export default async function apiKeyRoutes (app: FastifyInstance): Promise<void> {
  // Every action in the audit trail, as the other admin routes record theirs; never the key itself.
  const adminAudit = app.audit.action
  const ownAudit = (request: FastifyRequest, action: string, detail: Record<string, unknown> = {}) =>
    app.audit.action(request, action, `user:${request.keyOwner!.userId}`, detail, `user:${request.keyOwner!.userId}`)

  await app.register(async function adminApiKeyRoutes (admin) {
    admin.decorateRequest('adminActor', null)
    admin.addHook('preHandler', adminGuard(admin))

    admin.post<{ Body: AdminCreate }>(ADMIN_API_KEYS_PATH, { bodyLimit: SMALL_BODY, validatorCompiler, schema: SCHEMAS.adminCreateApiKey }, async (request, reply) => {
      const { user_id: userId, name, scopes = [], expires_in: expiresIn } = request.body
      const user = await app.bridge.getUser(userId)
      if (user === null) throw new UserNotFound()
      const { record, key } = await app.apiKeys.create({ user, kind: 'universal', name, scopes, expiresInSeconds: expiresIn, createdBy: request.adminActor ?? 'unknown' })
      adminAudit(request, 'apikey.create', `user:${userId}`, { key: record.id })
      return reply.code(201).header('cache-control', 'no-store').send(created(record, key))
    })

    admin.get<{ Querystring: ListQuery }>(ADMIN_API_KEYS_PATH, { validatorCompiler, schema: SCHEMAS.adminListApiKeys }, async (request, reply) => {
      const { user_id: userId } = request.query
      const keys = await app.apiKeys.list(userId === undefined ? undefined : Number(userId))
      adminAudit(request, 'apikey.list', userId === undefined ? 'all' : `user:${userId}`)
      return reply.header('cache-control', 'no-store').send({ api_keys: keys.map(listed) })
    })

    admin.post<{ Params: KeyParams }>(`${ADMIN_API_KEYS_PATH}/:id/rotate`, { validatorCompiler, schema: SCHEMAS.adminRotateApiKey }, async (request, reply) => {
      const { id } = request.params
      const record = KEY_ID.test(id) ? await app.apiKeys.catalog.get(id) : undefined
      if (record === undefined) throw new ApiKeyNotFound()
      // The new key acts with the user's roles now, as a new key would.
      const user = await app.bridge.getUser(record.userId)
      if (user === null) throw new UserNotFound()
      const rotated = await app.apiKeys.rotate(id, user, request.adminActor ?? 'unknown')
      if (rotated === undefined) throw new ApiKeyNotFound()
      adminAudit(request, 'apikey.rotate', `key:${id}`, { key: rotated.record.id })
      return reply.header('cache-control', 'no-store').send({ ...created(rotated.record, rotated.key), replaces: id })
    })

    admin.delete<{ Params: KeyParams }>(`${ADMIN_API_KEYS_PATH}/:id`, { validatorCompiler, schema: SCHEMAS.adminDeleteApiKey }, async (request, reply) => {
      const { id } = request.params
      if (!KEY_ID.test(id) || !await app.apiKeys.remove(id)) throw new ApiKeyNotFound()
      adminAudit(request, 'apikey.delete', `key:${id}`)
      return reply.code(204).send()
    })
  })

  /**
   * The caller, proved by their own login, before the body is read: an API
   * key or a narrowed credential may not make or see keys (a leaked key must
   * not be able to mint more).
   */
  app.decorateRequest('keyOwner', null)
  const owner = {
    onRequest: async (request: FastifyRequest) => {
      const identity = await app.authentication.authenticate(request)
      if (identity === null) throw new TokenMissing()
      request.audit = { ...request.audit, identity }
      if (identity.method === 'apikey') throw new AuthMethodRefused('API key')
      if (identity.scopes !== undefined || identity.clientId !== undefined) throw new AuthMethodRefused('scoped or client')
      request.keyOwner = identity
    }
  }

  app.post<{ Body: OwnCreate }>(API_KEYS_PATH, { ...owner, bodyLimit: SMALL_BODY, validatorCompiler, schema: SCHEMAS.createApiKey }, async (request, reply) => {
    const identity = request.keyOwner!
    // The snapshot comes from WordPress now, not from the credential: the key gets the user's current roles.
    const user = await app.bridge.getUser(Number(identity.userId))
    if (user === null) throw new UserNotFound()
    const { name, scopes = [], expires_in: expiresIn } = request.body
    const { record, key } = await app.apiKeys.create({ user, kind: 'personal', name, scopes, expiresInSeconds: expiresIn, createdBy: `user:${user.id}` })
    ownAudit(request, 'apikey.create', { key: record.id })
    return reply.code(201).header('cache-control', 'no-store').send(created(record, key))
  })

  app.get(API_KEYS_PATH, { ...owner, schema: SCHEMAS.listApiKeys }, async (request, reply) => {
    const identity = request.keyOwner!
    const keys = await app.apiKeys.list(Number(identity.userId))
    return reply.header('cache-control', 'no-store').send({ api_keys: keys.map(listed) })
  })

  app.delete<{ Params: KeyParams }>(`${API_KEYS_PATH}/:id`, { ...owner, validatorCompiler, schema: SCHEMAS.deleteApiKey }, async (request, reply) => {
    const identity = request.keyOwner!
    const { id } = request.params
    // Another user's key answers as an unknown one: its id tells the caller nothing.
    if (!KEY_ID.test(id) || !await app.apiKeys.remove(id, Number(identity.userId))) throw new ApiKeyNotFound()
    ownAudit(request, 'apikey.delete', { key: id })
    return reply.code(204).send()
  })
}
