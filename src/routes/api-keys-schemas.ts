import { Type, type Static } from '@sinclair/typebox'
import { Rule } from '../config/schema.js'
import { ADMIN, ApiKeyCreated, ApiKeyList, errors, NoContent, Security } from './schemas.js'

// A rotated key: the new key, and the one it replaced.
const ApiKeyRotated = Type.Object({
  ...ApiKeyCreated.properties,
  replaces: Type.String({ description: 'The id of the key it replaces, which no longer works' })
}, { additionalProperties: false, description: 'The new key, shown this once' })

// The API key routes' schemas (src/routes/api-keys.ts): what they take, and what they answer.

// Printable text: no control, zero-width, bidi or line-separator characters, which could forge log lines or hide text.
const Name = Type.String({ minLength: 1, maxLength: 100, pattern: '^(?!\\s*$)[^\\u0000-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u206F\\uFEFF]+$' })
// The same names a rule's `scopes` takes, so that a key's scopes can match a rule's.
const Scopes = Type.Array(Rule.properties.scopes.items, { maxItems: 32, uniqueItems: true })
const ExpiresIn = Type.Integer({ minimum: 1, maximum: 315_360_000 })
const KeyFields = { name: Name, scopes: Type.Optional(Scopes), expires_in: Type.Optional(ExpiresIn) }

export const AdminCreate = Type.Object({ user_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), ...KeyFields }, { additionalProperties: false })
export type AdminCreate = Static<typeof AdminCreate>
export const OwnCreate = Type.Object(KeyFields, { additionalProperties: false })
export type OwnCreate = Static<typeof OwnCreate>
export const ListQuery = Type.Object({ user_id: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,18}$' })) }, { additionalProperties: false })
export type ListQuery = Static<typeof ListQuery>
// Any id is accepted here: one that cannot exist is simply not found (404), like an unknown one.
export const KeyParams = Type.Object({ id: Type.String({ maxLength: 128 }) })
export type KeyParams = Static<typeof KeyParams>
const OWN = {
  tags: ['api-keys'],
  // The caller's own login; an API key or a narrowed credential is refused (403).
  security: [Security.jwt, Security.basic]
}
const ownErrors = (documented: Record<number, string> = {}) => errors({ 401: 'No credentials, or invalid ones', 403: 'GW_ERR_AUTH_METHOD_REFUSED: an API key or a credential narrowed by scopes', ...documented })
const [created201, list200] = [Type.Ref(ApiKeyCreated.$id!, { description: 'The key, shown this once' }), Type.Ref(ApiKeyList.$id!, { description: 'The keys, without their secrets' })]

export const SCHEMAS = {
  adminCreateApiKey: {
    tags: ADMIN.tags,
    summary: 'Make a universal API key for a user',
    operationId: 'adminCreateApiKey',
    security: ADMIN.security,
    body: AdminCreate,
    response: { 201: created201, ...ADMIN.errors({ 404: 'GW_ERR_USER_NOT_FOUND', 409: 'GW_ERR_API_KEY_LIMIT_REACHED' }) }
  },
  adminListApiKeys: {
    tags: ADMIN.tags,
    summary: 'List a user\'s API keys, or every key',
    operationId: 'adminListApiKeys',
    security: ADMIN.security,
    querystring: ListQuery,
    response: { 200: list200, ...ADMIN.errors() }
  },
  adminDeleteApiKey: {
    tags: ADMIN.tags,
    summary: 'Delete an API key',
    operationId: 'adminDeleteApiKey',
    security: ADMIN.security,
    params: KeyParams,
    response: { 204: NoContent, ...ADMIN.errors({ 404: 'GW_ERR_API_KEY_NOT_FOUND' }) }
  },
  adminRotateApiKey: {
    tags: ADMIN.tags,
    summary: 'Replace an API key with a new one (same user, kind, name, scopes and expiry)',
    operationId: 'adminRotateApiKey',
    security: ADMIN.security,
    params: KeyParams,
    response: { 200: ApiKeyRotated, ...ADMIN.errors({ 404: 'GW_ERR_API_KEY_NOT_FOUND, or GW_ERR_USER_NOT_FOUND when its user is gone' }) }
  },
  createApiKey: {
    ...OWN,
    summary: 'Make a personal API key',
    operationId: 'createApiKey',
    body: OwnCreate,
    response: { 201: created201, ...ownErrors({ 409: 'GW_ERR_API_KEY_LIMIT_REACHED' }) }
  },
  listApiKeys: { ...OWN, summary: 'List the caller\'s API keys', operationId: 'listApiKeys', response: { 200: list200, ...ownErrors() } },
  deleteApiKey: {
    ...OWN,
    summary: 'Delete one of the caller\'s API keys',
    operationId: 'deleteApiKey',
    params: KeyParams,
    response: { 204: NoContent, ...ownErrors({ 404: 'GW_ERR_API_KEY_NOT_FOUND, for another user\'s key too' }) }
  }
}
