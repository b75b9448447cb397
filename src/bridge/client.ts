import { Pool } from 'undici'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { InvalidCredentials, UpstreamUnavailable } from '../errors.js'
import { ASSERTION_HEADER, type AssertionSigner } from './assertion.js'

export const WordPressUser = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  login: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
  roles: Type.Array(Type.String())
})
export type WordPressUser = Static<typeof WordPressUser>

const NAMESPACE = '/gateway-bridge/v1'

/**
 * Talks to the bridge mu-plugin's internal routes (DESIGN §4) as the gateway
 * itself (`via: gateway`). WordPress does the password checks, so every hash
 * format and every login hook keeps working.
 */
export class BridgeClient {
  readonly #pool: Pool
  readonly #base: string
  readonly #signer: AssertionSigner
  readonly #timeoutMs: number

  constructor (wordpressUrl: URL, signer: AssertionSigner, timeoutMs: number) {
    this.#pool = new Pool(wordpressUrl.origin, { connections: 8, pipelining: 1 })
    this.#base = wordpressUrl.pathname.replace(/\/+$/, '') + '/wp-json'
    this.#signer = signer
    this.#timeoutMs = timeoutMs
  }

  /** The user for a login or email and password; InvalidCredentials whatever the reason. */
  async authenticate (login: string, password: string): Promise<WordPressUser> {
    const { status, body } = await this.#call('POST', '/authenticate', { login, password })
    if (status === 200) return parseUser(body)
    if (status === 401) throw new InvalidCredentials()
    throw new UpstreamUnavailable()
  }

  /** The user a WordPress login cookie and REST nonce belong to; null when either is not valid. */
  async checkCookie (cookie: string, nonce: string): Promise<WordPressUser | null> {
    const { status, body } = await this.#call('POST', '/cookie', { cookie, nonce })
    if (status === 200) return parseUser(body)
    if (status === 401) return null
    throw new UpstreamUnavailable()
  }

  async getUser (id: number): Promise<WordPressUser | null> {
    const { status, body } = await this.#call('GET', `/users/${id}`)
    if (status === 200) return parseUser(body)
    if (status === 404) return null
    throw new UpstreamUnavailable()
  }

  /**
   * Proves the whole path works: WordPress answers, the bridge is installed,
   * and it accepts our assertions. User 0 never exists, so the bridge's own
   * `user_not_found` is the healthy answer. Throws an Error whose message
   * says what to fix.
   */
  async ping (): Promise<void> {
    const { status, body } = await this.#call('GET', '/users/0')
    const code = typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : undefined
    if (status === 404 && code === 'user_not_found') return
    if (code === 'rest_no_route') throw new Error('the bridge plugin is not installed in WordPress: copy wordpress/mu-plugins/wp-auth-gateway-bridge.php into wp-content/mu-plugins/')
    if (code === 'gateway_assertion_invalid') throw new Error('WordPress rejects the gateway\'s assertions: BRIDGE_SECRET must be the same for the gateway and WordPress')
    throw new Error(`WordPress answered ${status}${code === undefined ? '' : ' ' + code} where the bridge was expected`)
  }

  async close (): Promise<void> {
    await this.#pool.close()
  }

  async #call (method: 'GET' | 'POST', path: string, payload?: unknown): Promise<{ status: number, body: unknown }> {
    const route = NAMESPACE + path
    try {
      const res = await this.#pool.request({
        method,
        path: this.#base + route,
        headers: {
          [ASSERTION_HEADER]: this.#signer.sign({ via: 'gateway', mth: method, rte: route }),
          accept: 'application/json',
          ...(payload === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: payload === undefined ? null : JSON.stringify(payload),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs
      })
      const text = await res.body.text()
      let body: unknown = null
      try { body = JSON.parse(text) } catch { /* a non-JSON answer is treated as a fault below */ }
      return { status: res.statusCode, body }
    } catch (err) {
      throw new UpstreamUnavailable({ cause: err })
    }
  }
}

function parseUser (body: unknown): WordPressUser {
  if (!Value.Check(WordPressUser, body)) throw new UpstreamUnavailable()
  const { id, login, email, display_name: displayName, roles } = body
  return { id, login, email, display_name: displayName, roles }
}
