import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OAuthInvalidRequest, OAuthUnauthorizedClient, OAuthUnsupportedGrantType } from '../errors.js'
import { authenticateClient } from './client-auth.js'
import { GRANT_TYPES, type GrantType } from './record.js'
import { readParams } from './params.js'
import { NO_STORE, sendOAuthError } from './respond.js'
import type { Grant } from './grants/types.js'
import { passwordGrant } from './grants/password.js'
import { clientCredentialsGrant } from './grants/client-credentials.js'
import { refreshTokenGrant } from './grants/refresh-token.js'
import { exchangeEnabled, TOKEN_EXCHANGE, tokenExchangeGrant } from './grants/token-exchange.js'

const GRANTS: Record<GrantType, Grant> = {
  password: passwordGrant,
  client_credentials: clientCredentialsGrant,
  refresh_token: refreshTokenGrant
}

const isGrantType = (g: string): g is GrantType => (GRANT_TYPES as readonly string[]).includes(g)

/**
 * The token endpoint (RFC 6749 §3.2), also reached through the login
 * endpoint when its body names a grant_type. It answers every error itself,
 * in RFC 6749 §5.2's shape, whatever context it is mounted in. The cheap
 * checks come first: nothing that cannot succeed reaches a secret.
 */
export function tokenEndpoint (app: FastifyInstance) {
  return async function token (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    try {
      const params = readParams(request.body)
      const grantType = params.grant_type
      if (grantType === undefined) throw new OAuthInvalidRequest('grant_type is required.')
      // The provider's token is the proof: no OAuth client takes part (src/oauth/grants/token-exchange.ts).
      if (grantType === TOKEN_EXCHANGE && exchangeEnabled(app)) {
        request.audit = { ...request.audit, action: 'oauth.token.token-exchange' }
        return await reply.headers(NO_STORE).send(await tokenExchangeGrant(app, request, params))
      }
      if (!isGrantType(grantType)) throw new OAuthUnsupportedGrantType('The grant type is not supported.')
      request.audit = { ...request.audit, action: `oauth.token.${grantType}` }
      const client = await authenticateClient(app, request, params)
      if (!client.grant_types.includes(grantType)) throw new OAuthUnauthorizedClient('The client may not use this grant type.')
      const answer = await GRANTS[grantType](app, request, client, params)
      return await reply.headers(NO_STORE).send(answer)
    } catch (err) {
      return sendOAuthError(request, reply, err)
    }
  }
}
