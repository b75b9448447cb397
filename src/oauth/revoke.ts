import type { FastifyInstance } from 'fastify'
import type { ClientRecord } from './record.js'

/**
 * Revocation (RFC 7009 §2.1): a refresh token ends its session, an access
 * token its session and itself. Only tokens issued to the calling client are
 * revoked; any other token, like an unknown one, is left alone and answered
 * alike (§2.2), so the endpoint reveals nothing.
 */
export async function revoke (app: FastifyInstance, client: ClientRecord, token: string): Promise<void> {
  const refresh = await app.sessions.describe(token)
  if (refresh !== undefined) {
    if (refresh.info?.clientId === client.client_id) await app.sessions.revoke(refresh.uid, refresh.sid)
    return
  }
  let claims
  try {
    claims = app.accessTokens.verify(token)
  } catch {
    return
  }
  if (claims.client_id !== client.client_id) return
  const until = (claims.exp + app.config.tokens.clockToleranceSeconds) * 1000
  await app.sessions.revoke(Number(claims.sub), claims.sid, [['jti', claims.jti, until]])
}
