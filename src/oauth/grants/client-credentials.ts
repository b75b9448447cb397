import { randomBytes } from 'node:crypto'
import { OAuthInvalidGrant } from '../../errors.js'
import { grantScopes } from '../scopes.js'
import { answer, type Grant } from './types.js'

/**
 * Client credentials (RFC 6749 §4.4): the client acts as its service user,
 * read afresh from WordPress so its roles are current. No refresh token
 * (§4.4.3). No session is stored either: each token gets a session id of its
 * own, so it is revoked like any other (by jti, session, user cut-off, or the
 * client's deletion) without filling the service user's session list with
 * one entry per token.
 */
export const clientCredentialsGrant: Grant = async (app, _request, client, params) => {
  const scopes = grantScopes(client.scopes, params.scope)
  const user = await app.bridge.getUser(client.user_id)
  if (user === null) {
    await app.oauthClients.refreshUser(client)
    throw new OAuthInvalidGrant('The client\'s service user no longer exists.')
  }
  return await answer(app, user, randomBytes(16).toString('base64url'), client, scopes)
}
