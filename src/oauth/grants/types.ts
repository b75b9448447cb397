import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { WordPressUser } from '../../bridge/client.js'
import type { ClientInfo } from '../../tokens/sessions.js'
import type { ClientRecord } from '../record.js'
import type { OAuthParams } from '../params.js'

/** A successful token response (RFC 6749 §5.1). */
export interface TokenAnswer {
  access_token: string
  token_type: 'Bearer'
  expires_in: number
  refresh_token?: string
  scope?: string
}

export type Grant = (app: FastifyInstance, request: FastifyRequest, client: ClientRecord, params: OAuthParams) => Promise<TokenAnswer>

/** The access token for a user, issued to a client with these scopes (none: the token carries no `scope` claim). */
export async function answer (app: FastifyInstance, user: WordPressUser, sid: string, client: ClientRecord, scopes: readonly string[], refreshToken?: string): Promise<TokenAnswer> {
  const narrowed = scopes.length === 0 ? undefined : scopes
  const { token } = await app.accessTokens.issue(user, sid, { clientId: client.client_id, scopes: narrowed })
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: app.accessTokens.ttlSeconds,
    ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    ...(narrowed === undefined ? {} : { scope: narrowed.join(' ') })
  }
}

/** Where a session was begun from, as the session list shows it. */
export const clientInfo = (request: FastifyRequest): ClientInfo => ({ userAgent: request.headers['user-agent'] ?? '', ip: request.ip })
