import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { Type } from '@sinclair/typebox'
import { OAuthInvalidRequest } from '../errors.js'
import { authenticateClient } from '../oauth/client-auth.js'
import { OAuthParams, readParams } from '../oauth/params.js'
import { NO_STORE, sendOAuthError } from '../oauth/respond.js'
import { tokenEndpoint } from '../oauth/token-endpoint.js'
import { introspect } from '../oauth/introspect.js'
import { revoke } from '../oauth/revoke.js'
import { INTROSPECT_PATH, issuerOf, METADATA_PATH, metadata, OAUTH_REVOKE_PATH, OAUTH_TOKEN_PATH } from '../oauth/metadata.js'

import { checkedInHandler, oauthErrors, OAuthToken, Security } from './schemas.js'

const SMALL_BODY = 16 * 1024
// Client authentication: Basic (client_secret_basic), or client_id and client_secret in the body (client_secret_post).
const CLIENT = [Security.client, Security.none]
// Documented, not enforced by Fastify: readParams checks the parameters, and answers in RFC 6749's shape.
const body = (description: string) => ({ ...OAuthParams, description })
const FORM = ['application/x-www-form-urlencoded', 'application/json']

const Introspection = Type.Object({
  active: Type.Boolean(),
  client_id: Type.Optional(Type.String()),
  username: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.Literal('Bearer')),
  sub: Type.Optional(Type.String()),
  iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
  iat: Type.Optional(Type.Integer()),
  nbf: Type.Optional(Type.Integer()),
  exp: Type.Optional(Type.Integer()),
  jti: Type.Optional(Type.String()),
  scope: Type.Optional(Type.String())
}, { additionalProperties: false, description: 'RFC 7662 §2.2; only {"active": false} for tokens not issued to the caller' })

const Metadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  introspection_endpoint: Type.String(),
  revocation_endpoint: Type.String(),
  jwks_uri: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  introspection_endpoint_auth_methods_supported: Type.Array(Type.String()),
  revocation_endpoint_auth_methods_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String())
}, { additionalProperties: false, description: 'RFC 8414 §2' })

/** The OAuth 2.0 endpoints (README, "OAuth 2.0 clients"), answered by the gateway and never forwarded. */
export default async function oauthRoutes (app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: SMALL_BODY })
  // Whatever fails here, a body parser included, answers in RFC 6749 §5.2's shape.
  app.setErrorHandler((err, request, reply) => sendOAuthError(request, reply, err))

  app.post(OAUTH_TOKEN_PATH, {
    bodyLimit: SMALL_BODY,
    validatorCompiler: checkedInHandler,
    schema: {
      tags: ['oauth'],
      summary: 'OAuth 2.0 token endpoint',
      description: 'Grants: password, client_credentials, refresh_token, and token exchange (RFC 8693) where a provider allows it.',
      operationId: 'oauthToken',
      security: CLIENT,
      consumes: FORM,
      body: body('RFC 6749 §4.3, §4.4, §6 parameters'),
      response: { 200: Type.Ref(OAuthToken.$id!, { description: 'Tokens (RFC 6749 §5.1)' }), ...oauthErrors({ 400: 'invalid_request, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope', 401: 'invalid_client', 429: 'slow_down, with Retry-After' }) }
    }
  }, tokenEndpoint(app))

  app.post(INTROSPECT_PATH, {
    bodyLimit: SMALL_BODY,
    validatorCompiler: checkedInHandler,
    schema: {
      tags: ['oauth'],
      summary: 'Token introspection (RFC 7662)',
      operationId: 'oauthIntrospect',
      security: CLIENT,
      consumes: FORM,
      body: body('token, token_type_hint, and the client\'s credentials with client_secret_post'),
      response: { 200: Introspection, ...oauthErrors({ 401: 'invalid_client' }) }
    }
  }, async (request, reply) => {
    const params = readParams(request.body)
    request.audit = { ...request.audit, action: 'oauth.introspect' }
    const client = await authenticateClient(app, request, params)
    if (params.token === undefined) throw new OAuthInvalidRequest('token is required.')
    return await reply.headers(NO_STORE).send(await introspect(app, client, params.token))
  })

  app.post(OAUTH_REVOKE_PATH, {
    bodyLimit: SMALL_BODY,
    validatorCompiler: checkedInHandler,
    schema: {
      tags: ['oauth'],
      summary: 'Token revocation (RFC 7009)',
      operationId: 'oauthRevoke',
      security: CLIENT,
      consumes: FORM,
      body: body('token, token_type_hint, and the client\'s credentials with client_secret_post'),
      response: { 200: Type.Object({}, { additionalProperties: false, description: 'Always {}, for unknown tokens too (RFC 7009 §2.2)' }), ...oauthErrors({ 401: 'invalid_client' }) }
    }
  }, async (request, reply) => {
    const params = readParams(request.body)
    request.audit = { ...request.audit, action: 'oauth.revoke' }
    const client = await authenticateClient(app, request, params)
    if (params.token === undefined) throw new OAuthInvalidRequest('token is required.')
    await revoke(app, client, params.token)
    return await reply.headers(NO_STORE).send({})
  })

  app.get(METADATA_PATH, {
    schema: {
      tags: ['oauth'],
      summary: 'Authorization server metadata (RFC 8414)',
      operationId: 'oauthMetadata',
      security: [Security.none],
      response: { 200: Metadata, ...oauthErrors() }
    }
  }, async (request, reply) => {
    const { issuer, fixed } = issuerOf(app, request)
    // Derived from the request, the answer varies by Host: no shared cache may keep it.
    return await reply.header('cache-control', fixed ? 'public, max-age=300' : 'no-store').send(await metadata(app, issuer))
  })
}
