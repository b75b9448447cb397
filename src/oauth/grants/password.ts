import { InvalidCredentials, OAuthInvalidGrant, OAuthInvalidRequest } from '../../errors.js'
import { checkPassword } from '../../throttle/password.js'
import { grantScopes } from '../scopes.js'
import { answer, clientInfo, type Grant } from './types.js'

/**
 * Resource owner password credentials (RFC 6749 §4.3): a WordPress user's
 * login or email and password, checked by WordPress and throttled like every
 * password. The session it starts is bound to the client; its refresh token
 * is handed out only to clients allowed the refresh_token grant.
 */
export const passwordGrant: Grant = async (app, request, client, params) => {
  if (params.username === undefined || params.password === undefined) throw new OAuthInvalidRequest('username and password are required.')
  // Before the password is checked: a request that cannot succeed costs no attempt.
  const scopes = grantScopes(client.scopes, params.scope)
  let user
  try {
    user = await checkPassword(app, params.username, params.password, request.ip)
  } catch (err) {
    if (err instanceof InvalidCredentials) throw new OAuthInvalidGrant('Invalid username or password.')
    throw err
  }
  const { sid, refreshToken } = await app.sessions.create(user.id, clientInfo(request), { clientId: client.client_id, scopes: scopes.length === 0 ? undefined : scopes })
  return await answer(app, user, sid, client, scopes, client.grant_types.includes('refresh_token') ? refreshToken : undefined)
}
