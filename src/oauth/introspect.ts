import type { FastifyInstance } from 'fastify'
import type { ClientRecord } from './record.js'

/**
 * Token introspection (RFC 7662 §2.2). A client learns only of tokens issued
 * to it (§4: the server may limit what a caller sees): anything else, like
 * anything expired, revoked or unknown, is `{active: false}`.
 */
export async function introspect (app: FastifyInstance, client: ClientRecord, token: string): Promise<Record<string, unknown>> {
  const inactive = { active: false }
  const refresh = await app.sessions.describe(token)
  if (refresh !== undefined) {
    const { info } = refresh
    if (!refresh.active || info === undefined || info.clientId !== client.client_id) return inactive
    return {
      active: true,
      client_id: info.clientId,
      sub: String(refresh.uid),
      iat: Math.floor(info.createdAt / 1000),
      exp: Math.floor(info.expiresAt / 1000),
      ...(info.scopes === undefined ? {} : { scope: info.scopes.join(' ') })
    }
  }
  let claims
  try {
    claims = app.accessTokens.verify(token)
  } catch {
    return inactive
  }
  if (claims.client_id !== client.client_id) return inactive
  if (await app.revocations.isRevoked({ jti: claims.jti, sid: claims.sid, iat: claims.iat, uid: claims.sub, cid: claims.client_id })) return inactive
  return {
    active: true,
    client_id: claims.client_id,
    username: claims.login,
    token_type: 'Bearer',
    sub: claims.sub,
    iss: claims.iss,
    aud: claims.aud,
    iat: claims.iat,
    nbf: claims.nbf,
    exp: claims.exp,
    jti: claims.jti,
    ...(claims.scope === undefined ? {} : { scope: claims.scope })
  }
}
