import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OAuthInvalidGrant, OAuthInvalidRequest } from '../../errors.js'
import type { OAuthParams } from '../params.js'
import { clientInfo } from './types.js'

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token'
// RFC 8693 §3: what a provider hands an app, as a JWT the gateway can verify.
const SUBJECT_TOKEN_TYPES = new Set([ACCESS_TOKEN_TYPE, 'urn:ietf:params:oauth:token-type:id_token', 'urn:ietf:params:oauth:token-type:jwt'])

/** Whether any provider's tokens may be exchanged: otherwise the grant type is unsupported. */
export const exchangeEnabled = (app: FastifyInstance): boolean => Object.values(app.config.providers).some((p) => p.exchange)

/**
 * Token exchange (RFC 8693 §2): a provider's token (of a provider with
 * `exchange: true`) for the gateway's own pair, so an app can refresh and
 * revoke from then on. The subject token is verified and its person
 * provisioned exactly as the oidc method does; no client is needed, as the
 * provider token is the proof (§2.1: client authentication is optional).
 * Impersonation only: an actor token (delegation, §1.1) is refused.
 */
export async function tokenExchangeGrant (app: FastifyInstance, request: FastifyRequest, params: OAuthParams) {
  const token = params.subject_token
  const type = params.subject_token_type
  if (token === undefined || type === undefined) throw new OAuthInvalidRequest('subject_token and subject_token_type are required.')
  if (!SUBJECT_TOKEN_TYPES.has(type)) throw new OAuthInvalidRequest('The subject_token_type is not supported.')
  if (params.requested_token_type !== undefined && params.requested_token_type !== ACCESS_TOKEN_TYPE) throw new OAuthInvalidRequest('Only access tokens are issued.')
  if (params.actor_token !== undefined) throw new OAuthInvalidRequest('Delegation (actor_token) is not supported.')
  const provider = app.providerTokens.providerOf(token)
  if (provider === undefined || !provider.config.exchange) throw new OAuthInvalidGrant('The subject token is not from a provider accepted for exchange.')
  let found
  try {
    found = await app.providerTokens.identify(token, provider)
  } catch (err) {
    // A bad token, or a person not provisioned (GW_ERR_USER_NOT_PROVISIONED…): the grant is invalid (RFC 6749 §5.2), with the reason. A provider or store that cannot answer stays a 503.
    const e = err as { statusCode?: number, code?: string, message: string }
    if (e.statusCode !== undefined && e.statusCode < 500 && e.code?.startsWith('GW_ERR_') === true) throw new OAuthInvalidGrant(e.message)
    throw err
  }
  const { sid, refreshToken } = await app.sessions.create(found.user.id, clientInfo(request))
  const { token: accessToken } = await app.accessTokens.issue(found.user, sid)
  request.audit = { ...request.audit, identity: found.identity }
  return {
    access_token: accessToken,
    issued_token_type: ACCESS_TOKEN_TYPE,
    token_type: 'Bearer',
    expires_in: app.accessTokens.ttlSeconds,
    refresh_token: refreshToken
  }
}
