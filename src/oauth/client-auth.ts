import type { FastifyInstance, FastifyRequest } from 'fastify'
import { ClientInvalid, OAuthInvalidClient, OAuthInvalidRequest } from '../errors.js'
import type { ClientRecord } from './record.js'
import type { OAuthParams } from './params.js'
import { withChallenge } from './respond.js'

// Client authentication at the OAuth endpoints (RFC 6749 §2.3.1):
// client_secret_basic (Authorization: Basic, id and secret each
// form-urlencoded) or client_secret_post (both in the body); exactly one.

export type AuthMethodName = 'client_secret_basic' | 'client_secret_post'
export const CLIENT_AUTH_METHODS: readonly AuthMethodName[] = ['client_secret_basic', 'client_secret_post']

interface Presented { clientId: string, secret: string, method: AuthMethodName }

function presented (request: FastifyRequest, params: OAuthParams): Presented {
  const raw = request.raw.rawHeaders
  let headers = 0
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'authorization') headers++
  if (headers > 1) throw new OAuthInvalidRequest('More than one Authorization header was sent.')
  const header = request.headers.authorization
  if (header === undefined) {
    if (params.client_id === undefined || params.client_secret === undefined) {
      throw withChallenge(new OAuthInvalidClient('Client authentication is required (client_secret_basic or client_secret_post).'))
    }
    return { clientId: params.client_id, secret: params.client_secret, method: 'client_secret_post' }
  }
  const m = /^Basic[ ]+([A-Za-z0-9+/]+={0,2})[ ]*$/i.exec(header)
  if (m === null) throw withChallenge(new OAuthInvalidClient('Only Basic client authentication is supported in the Authorization header.'))
  if (params.client_secret !== undefined) throw new OAuthInvalidRequest('The client authenticated with more than one method.')
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  let clientId: string, secret: string
  try {
    if (colon === -1) throw new URIError('no colon')
    clientId = formDecode(decoded.slice(0, colon))
    secret = formDecode(decoded.slice(colon + 1))
  } catch {
    throw withChallenge(new OAuthInvalidClient('The Basic credentials are malformed.'))
  }
  if (params.client_id !== undefined && params.client_id !== clientId) throw new OAuthInvalidRequest('client_id in the body differs from the authenticated client.')
  return { clientId, secret, method: 'client_secret_basic' }
}

/** application/x-www-form-urlencoded decoding, which RFC 6749 §2.3.1 asks of both parts. */
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '))

/** The authenticated client, or invalid_client (401); throttled per client and per IP (429). */
export async function authenticateClient (app: FastifyInstance, request: FastifyRequest, params: OAuthParams): Promise<ClientRecord> {
  const p = presented(request, params)
  if (p.clientId.length > 64 || p.secret.length > 256 || p.clientId === '' || p.secret === '') {
    throw p.method === 'client_secret_basic' ? withChallenge(new OAuthInvalidClient('The client id or secret is invalid.')) : new OAuthInvalidClient('The client id or secret is invalid.')
  }
  try {
    return await app.oauthClients.verify(p.clientId, p.secret, request.ip)
  } catch (err) {
    if (!(err instanceof ClientInvalid)) throw err
    const invalid = new OAuthInvalidClient('The client id or secret is invalid.')
    throw p.method === 'client_secret_basic' ? withChallenge(invalid) : invalid
  }
}
