import { Pool } from 'undici'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { BridgeUnavailable, EmailInUse, EmailNotVerified, PasswordWeak, RegistrationClosed, UpstreamUnavailable, UserNotProvisioned } from '../errors.js'
import type { ProvisionPolicy, ProvisionRequest } from '../providers/provisioning-types.js'
import { ASSERTION_HEADER, type AssertionSigner } from './assertion.js'

export const WordPressUser = Type.Object({
  id: Type.Integer({ minimum: 1 }),
  login: Type.String(),
  email: Type.String(),
  display_name: Type.String(),
  roles: Type.Array(Type.String())
})
export type WordPressUser = Static<typeof WordPressUser>

/** What the bridge says of itself (class-wpag-routes.php, WPAG_Routes::ping). */
export const BridgeInfo = Type.Object({
  bridge: Type.Literal('wp-auth-gateway'),
  protocol: Type.Integer(),
  require_assertion: Type.Boolean(),
  events: Type.Boolean()
})
export type BridgeInfo = Static<typeof BridgeInfo>

const NAMESPACE = '/gateway-bridge/v1'
export const BRIDGE_PROTOCOL = 5

/** Why WordPress refuses the gateway itself, as an operator reads it: one line saying what to fix. */
const REFUSALS: Record<string, string> = {
  gateway_assertion_invalid: 'WordPress rejects the gateway\'s assertions: BRIDGE_SECRET must be the same for the gateway and WordPress (and the clocks within 5 s)',
  gateway_assertion_required: 'WordPress rejects the gateway\'s assertions: BRIDGE_SECRET is missing or shorter than 32 bytes inside WordPress',
  gateway_forbidden: 'WordPress rejects the gateway\'s assertions: BRIDGE_SECRET must be the same for the gateway and WordPress',
  invalid_role: 'a provider\'s default role is not a role of this WordPress site: fix providers.<name>.roles in the gateway\'s configuration',
  rest_no_route: 'the bridge plugin is missing or outdated in WordPress: copy wordpress/mu-plugins/wp-auth-gateway-bridge.php and the folder wp-auth-gateway-bridge/ into wp-content/mu-plugins/'
}

/**
 * Talks to the bridge mu-plugin's internal routes (docs/architecture.md §5) as the gateway
 * itself (`via: gateway`). WordPress does the password checks, so every hash
 * format and every login hook keeps working. An answer that says WordPress
 * refuses the gateway itself is a 503 GW_ERR_BRIDGE_UNAVAILABLE naming the
 * cause, never a client's "wrong password".
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

  /**
   * Checks a login or email and password with WordPress. Either way the
   * answer names the account the login belongs to (`user:<id>`, or
   * `unknown:<login>`), for throttling that counts a login and its email as
   * one. Application Passwords count only with `appPasswords` (Basic).
   */
  async authenticate (login: string, password: string, appPasswords = false): Promise<PasswordCheck> {
    const answer = await this.#call('POST', '/authenticate', { login, password, app_password: appPasswords })
    if (answer.status === 200) {
      const account = accountOf(answer.body)
      if (account !== null) return { user: parseUser(answer.body), account }
    } else if (answer.code === 'invalid_credentials') {
      const account = accountOf((answer.body as { data?: unknown }).data)
      if (account !== null) return { user: null, account }
    }
    throw unusable(answer)
  }

  /** The user a WordPress login cookie and REST nonce belong to; null when either is not valid. */
  async checkCookie (cookie: string, nonce: string): Promise<WordPressUser | null> {
    const answer = await this.#call('POST', '/cookie', { cookie, nonce })
    if (answer.status === 200) return parseUser(answer.body)
    if (answer.code === 'invalid_cookie') return null
    throw unusable(answer)
  }

  /**
   * The WordPress user for a person an identity provider vouches for: found
   * by the link the bridge keeps (provider + subject), by a verified email
   * when the policy allows, or made (users/provision).
   */
  async provision (request: ProvisionRequest, policy: ProvisionPolicy): Promise<WordPressUser> {
    const answer = await this.#call('POST', '/users/provision', {
      provider: request.provider,
      subject: request.subject,
      email: request.email,
      email_verified: request.emailVerified,
      name: request.displayName,
      roles: request.roles,
      create: policy.create,
      link_by_email: policy.linkByEmail,
      update_roles: policy.updateRoles,
      default_role: policy.defaultRole
    })
    if (answer.status === 200) return parseUser(answer.body)
    if (answer.code === 'user_not_provisioned') throw new UserNotProvisioned()
    if (answer.code === 'email_not_verified') throw new EmailNotVerified()
    if (answer.code === 'email_in_use') throw new EmailInUse()
    throw unusable(answer)
  }

  async getUser (id: number): Promise<WordPressUser | null> {
    const answer = await this.#call('GET', `/users/${id}`)
    if (answer.status === 200) return parseUser(answer.body)
    if (answer.code === 'user_not_found') return null
    throw unusable(answer)
  }

  /**
   * Registers a user through WordPress's own register_new_user() (bridge:
   * class-wpag-accounts.php), with the site's default role. `open`: the
   * gateway's configuration opens registration whatever WordPress says.
   * WordPress's refusals come back as `refused` (its message and codes).
   */
  async register (request: { username: string, email: string, password?: string | undefined, open: boolean, resetUrl?: string | undefined, clientIp: string }): Promise<Registration> {
    const answer = await this.#call('POST', '/register', { username: request.username, email: request.email, password: request.password, open: request.open, reset_url: request.resetUrl, client_ip: request.clientIp })
    if (answer.status === 201) return { user: parseUser(answer.body), passwordSet: (answer.body as { password_set?: unknown }).password_set === true }
    if (answer.code === 'registration_closed') throw new RegistrationClosed()
    if (answer.code === 'registration_invalid') {
      const data = (answer.body as { data?: { errors?: unknown, taken?: unknown } }).data
      const errors = Array.isArray(data?.errors)
        ? data.errors.flatMap((e: { code?: unknown, message?: unknown }) => typeof e?.code === 'string' && typeof e.message === 'string' ? [{ code: e.code, message: e.message }] : [])
        : []
      if (errors.length === 0) errors.push({ code: 'registration_invalid', message: messageOf(answer.body) })
      return { refused: { errors, taken: data?.taken === true } }
    }
    throw unusable(answer)
  }

  /**
   * The account a login or email names (`send: false`), or WordPress's own
   * reset mail through retrieve_password() for it (`send: true`). Either way
   * the answer is the account, whether it exists or not. `clientIp` is who
   * asked, for WordPress's hooks and its mail (which names the address).
   */
  async forgotPassword (login: string, send: boolean, resetUrl?: string, clientIp?: string): Promise<string> {
    const answer = await this.#call('POST', '/password/forgot', { login, send, reset_url: resetUrl, client_ip: clientIp })
    const account = answer.status === 200 ? accountOf(answer.body) : null
    if (account === null) throw unusable(answer)
    return account
  }

  /**
   * check_password_reset_key() and reset_password(): the user whose password
   * was reset, or null (with the account the login names) for any key that
   * does not open it.
   */
  async resetPassword (login: string, key: string, password: string, clientIp: string): Promise<PasswordCheck> {
    const answer = await this.#call('POST', '/password/reset', { login, key, password, client_ip: clientIp })
    if (answer.status === 200) {
      const account = accountOf(answer.body)
      if (account !== null) return { user: parseUser(answer.body), account }
    } else if (answer.code === 'invalid_key') {
      const account = accountOf((answer.body as { data?: unknown }).data)
      if (account !== null) return { user: null, account }
    } else if (answer.code === 'password_refused') {
      throw new PasswordWeak(messageOf(answer.body))
    }
    throw unusable(answer)
  }

  /** A signed-in user's new password, set by wp_set_password() once WordPress's password hooks accept it. */
  async setPassword (id: number, password: string): Promise<WordPressUser | null> {
    const answer = await this.#call('POST', '/password/set', { user_id: id, password })
    if (answer.status === 200) return parseUser(answer.body)
    if (answer.code === 'password_refused') throw new PasswordWeak(messageOf(answer.body))
    if (answer.code === 'user_not_found') return null
    throw unusable(answer)
  }

  /**
   * Proves the whole path works: WordPress answers, the bridge is installed,
   * accepts the gateway's assertions and speaks its protocol. Throws an Error
   * whose message says what to fix.
   */
  async ping (): Promise<BridgeInfo> {
    const answer = await this.#call('GET', '/ping')
    if (answer.status === 200 && Value.Check(BridgeInfo, answer.body)) {
      if (answer.body.protocol !== BRIDGE_PROTOCOL) throw new Error(`the bridge plugin in WordPress speaks protocol ${answer.body.protocol}, this gateway ${BRIDGE_PROTOCOL}: install the bridge of this release`)
      return answer.body
    }
    throw new Error(unusable(answer).reason)
  }

  async close (): Promise<void> {
    await this.#pool.close()
  }

  async #call (method: 'GET' | 'POST', path: string, payload?: unknown): Promise<Answer> {
    const route = NAMESPACE + path
    let status: number
    let text: string
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
      status = res.statusCode
      text = await res.body.text()
    } catch (err) {
      throw new UpstreamUnavailable({ cause: err })
    }
    let body: unknown = null
    try { body = JSON.parse(text) } catch { /* a non-JSON answer is no bridge answer */ }
    const code = typeof body === 'object' && body !== null && 'code' in body ? String(body.code) : undefined
    return { status, code, body }
  }
}

interface Answer { status: number, code: string | undefined, body: unknown }

/** What WordPress said of a password: the user (null: refused) and the account the login names. */
export interface PasswordCheck { user: WordPressUser | null, account: string }

/** What registration came to: the new user, or WordPress's refusal. */
export type Registration = { user: WordPressUser, passwordSet: boolean, refused?: undefined } | { refused: { errors: Array<{ code: string, message: string }>, taken: boolean }, user?: undefined }

function messageOf (body: unknown): string {
  const message = typeof body === 'object' && body !== null && 'message' in body ? body.message : undefined
  return typeof message === 'string' && message !== '' ? message : 'WordPress refused the request.'
}

function accountOf (body: unknown): string | null {
  const account = typeof body === 'object' && body !== null && 'account' in body ? body.account : undefined
  return typeof account === 'string' && /^(user:[1-9][0-9]*|unknown:.*)$/s.test(account) ? account : null
}

/** The error for an answer that is not the bridge's: WordPress refusing the gateway, or something else answering. */
function unusable ({ status, code }: Answer): Error & { reason: string } {
  const reason = (code === undefined ? undefined : REFUSALS[code]) ??
    `WordPress answered ${status}${code === undefined ? '' : ' ' + code} where the bridge was expected`
  const err = code !== undefined && code in REFUSALS ? new BridgeUnavailable({ cause: new Error(reason) }) : new UpstreamUnavailable({ cause: new Error(reason) })
  return Object.assign(err, { reason })
}

function parseUser (body: unknown): WordPressUser {
  if (!Value.Check(WordPressUser, body)) throw new UpstreamUnavailable({ cause: new Error('the bridge answered with a malformed user') })
  const { id, login, email, display_name: displayName, roles } = body
  return { id, login, email, display_name: displayName, roles }
}
