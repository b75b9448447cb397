import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { OAuthInvalidRequest } from '../errors.js'
import { authenticateClient } from '../oauth/client-auth.js'
import { readParams } from '../oauth/params.js'
import { NO_STORE, sendOAuthError } from '../oauth/respond.js'
import { tokenEndpoint } from '../oauth/token-endpoint.js'
import { introspect } from '../oauth/introspect.js'
import { revoke } from '../oauth/revoke.js'
import { INTROSPECT_PATH, issuerOf, METADATA_PATH, metadata, OAUTH_REVOKE_PATH, OAUTH_TOKEN_PATH } from '../oauth/metadata.js'

const SMALL_BODY = 16 * 1024

/** The OAuth 2.0 endpoints (README, "OAuth 2.0 clients"), answered by the gateway and never forwarded. */
export default async function oauthRoutes (app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: SMALL_BODY })
  // Whatever fails here, a body parser included, answers in RFC 6749 §5.2's shape.
  app.setErrorHandler((err, request, reply) => sendOAuthError(request, reply, err))

  app.post(OAUTH_TOKEN_PATH, { bodyLimit: SMALL_BODY }, tokenEndpoint(app))

  app.post(INTROSPECT_PATH, { bodyLimit: SMALL_BODY }, async (request, reply) => {
    const params = readParams(request.body)
    request.audit = { ...request.audit, action: 'oauth.introspect' }
    const client = await authenticateClient(app, request, params)
    if (params.token === undefined) throw new OAuthInvalidRequest('token is required.')
    return await reply.headers(NO_STORE).send(await introspect(app, client, params.token))
  })

  app.post(OAUTH_REVOKE_PATH, { bodyLimit: SMALL_BODY }, async (request, reply) => {
    const params = readParams(request.body)
    request.audit = { ...request.audit, action: 'oauth.revoke' }
    const client = await authenticateClient(app, request, params)
    if (params.token === undefined) throw new OAuthInvalidRequest('token is required.')
    await revoke(app, client, params.token)
    return await reply.headers(NO_STORE).send({})
  })

  app.get(METADATA_PATH, async (request, reply) => {
    const { issuer, fixed } = issuerOf(app, request)
    // Derived from the request, the answer varies by Host: no shared cache may keep it.
    return await reply.header('cache-control', fixed ? 'public, max-age=300' : 'no-store').send(await metadata(app, issuer))
  })
}
