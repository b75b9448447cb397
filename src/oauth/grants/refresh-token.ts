import { OAuthInvalidGrant, OAuthInvalidRequest, OAuthInvalidScope, RefreshTokenInvalid, RefreshTokenReused } from '../../errors.js'
import { parseScope } from '../scopes.js'
import { answer, clientInfo, type Grant } from './types.js'

/**
 * Refreshing (RFC 6749 §6), with the rotation and reuse detection of the
 * gateway's own refresh (src/tokens/sessions.ts). Only the client the token
 * was issued to may spend it; a narrower scope may be asked for, never a wider
 * one, and the session keeps its original grant for later refreshes.
 */
export const refreshTokenGrant: Grant = async (app, request, client, params) => {
  if (params.refresh_token === undefined) throw new OAuthInvalidRequest('refresh_token is required.')
  const requested = parseScope(params.scope)
  let rotated
  try {
    rotated = await app.sessions.rotate(params.refresh_token, clientInfo(request), client.client_id, (info) => {
      if (requested !== undefined && !requested.every((s) => info.scopes?.includes(s) === true)) throw new OAuthInvalidScope('The requested scope exceeds the original grant.')
    })
  } catch (err) {
    if (err instanceof RefreshTokenReused) throw new OAuthInvalidGrant('The refresh token was already used; its session has been ended.')
    if (err instanceof RefreshTokenInvalid) throw new OAuthInvalidGrant('The refresh token is invalid, expired, revoked, or was issued to another client.')
    throw err
  }
  // Role changes and deletions take effect at the next refresh, as for the gateway's own refresh.
  const user = await app.bridge.getUser(rotated.uid)
  if (user === null) {
    await app.sessions.revoke(rotated.uid, rotated.sid)
    throw new OAuthInvalidGrant('The refresh token is invalid, expired, revoked, or was issued to another client.')
  }
  return await answer(app, user, rotated.sid, client, requested ?? rotated.info?.scopes ?? [], rotated.refreshToken)
}
