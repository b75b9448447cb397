import type { FastifyInstance } from 'fastify'
import type { WordPressUser } from '../bridge/client.js'

/** The answer that hands a client a token pair (the token endpoint, refresh, registration, password change). */
export async function tokenResponse (app: FastifyInstance, user: WordPressUser, sid: string, refreshToken: string) {
  const { token } = await app.accessTokens.issue(user, sid)
  return {
    token_type: 'Bearer',
    access_token: token,
    expires_in: app.accessTokens.ttlSeconds,
    // The same token under the name clients of the miniOrange plugin read.
    jwt_token: token,
    refresh_token: refreshToken,
    refresh_expires_in: app.sessions.refreshTtlSeconds,
    user: { id: user.id, login: user.login, email: user.email, display_name: user.display_name, roles: user.roles }
  }
}
