import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { InvalidCredentials, RegistrationClosed, RegistrationRefused } from '../errors.js'
import { checkPassword } from '../throttle/password.js'
import { tokenResponse } from '../tokens/token-response.js'
import { clientInfo } from '../routes/token.js'
import type { WordPressUser } from '../bridge/client.js'
import { AccountStatus, Registered, Security, errors } from '../routes/schemas.js'

export const REGISTER_PATH = '/wp-json/api/v1/register'
/** register_new_user()'s codes for a username or email someone already has. */
const TAKEN = new Set(['username_exists', 'email_exists'])

const RegisterRequest = Type.Object({
  // WordPress's own limits: user_login is 60 characters, user_email 100 (wp_users).
  username: Type.String({ minLength: 1, maxLength: 60 }),
  email: Type.String({ minLength: 1, maxLength: 100 }),
  password: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 }))
}, { additionalProperties: false })
type RegisterRequest = Static<typeof RegisterRequest>

/** What a registration answers when it must not tell a new account from a taken one (accounts.register.revealTaken: false). */
export const REGISTRATION_ACCEPTED = { status: 'accepted', message: 'If the registration can be completed, WordPress will send an email to the address given.' }

/**
 * POST register {username, email, password?}: WordPress's own
 * register_new_user() through the bridge, with the site's default role.
 * Open when WordPress's users_can_register is on (accounts.register.enabled:
 * wordpress) or the configuration says true. Registrations count against the
 * IP's mail limit, refusals against its failed attempts.
 */
export function registerRoute (app: FastifyInstance, bodyLimit: number): void {
  const settings = app.config.accounts
  const { passwords, bridge } = app
  const { passwordRules, captcha, mail, later } = app.accounts

  app.post<{ Body: RegisterRequest }>(REGISTER_PATH, {
    bodyLimit,
    schema: {
      tags: ['accounts'],
      summary: 'Register a WordPress user, through WordPress\'s own register_new_user()',
      operationId: 'register',
      security: [Security.none],
      body: RegisterRequest,
      response: {
        201: Registered,
        202: { ...AccountStatus, description: 'Accepted, without saying whether the account is new (accounts.register.revealTaken: false)' },
        ...errors({ 400: 'GW_ERR_REGISTRATION_REFUSED (WordPress\'s reasons) or GW_ERR_PASSWORD_WEAK', 403: 'GW_ERR_REGISTRATION_CLOSED, or GW_ERR_CAPTCHA_FAILED', 429: 'Too many attempts or mails from this address' })
      }
    }
  }, async (request, reply) => {
    const { enabled, login, revealTaken } = settings.register
    if (enabled === false) throw new RegistrationClosed()
    await captcha.verify(request, 'register')
    const { username, email, password } = request.body
    const ip = request.ip
    await passwords.checkAttempt(null, ip)
    if (password !== undefined) passwordRules.check(password, { login: username, email })
    await mail.check('mail', null, ip)
    await mail.failed('mail', null, ip)

    const registration = { username, email, password, open: enabled === true, resetUrl: settings.resetUrl, clientIp: ip }
    void reply.header('cache-control', 'no-store')
    if (!revealTaken) {
      // Answered before WordPress is asked, as password/forgot is: a new
      // account (an insert, mails) then takes no longer to answer than a
      // taken one, and neither the body nor the time tells them apart.
      later(async () => {
        const result = await bridge.register(registration)
        if (result.refused !== undefined && result.refused.errors.some((e) => !TAKEN.has(e.code))) await passwords.failedAttempt(null, ip)
        if (result.user !== undefined) app.audit.action(request, 'account.register', `user:${result.user.id}`, {}, `user:${result.user.id}`)
      })
      return await reply.code(202).send(REGISTRATION_ACCEPTED)
    }
    const result = await bridge.register(registration)
    if (result.refused !== undefined) {
      await passwords.failedAttempt(null, ip)
      throw new RegistrationRefused(result.refused.errors.map((e) => e.message).join(' '))
    }
    const user = result.user
    app.audit.action(request, 'account.register', `user:${user.id}`, {}, `user:${user.id}`)
    const answer = { status: 'registered', user: publicUser(user) }
    if (!login || !result.passwordSet || password === undefined) return await reply.code(201).send(answer)
    // Through WordPress's login, so that a plugin that holds new accounts back (e-mail confirmation) is heard.
    try {
      const checked = await checkPassword(app, user.login, password, ip)
      const { sid, refreshToken } = await app.sessions.create(checked.id, clientInfo(request))
      return await reply.code(201).header('pragma', 'no-cache').send({ status: 'registered', ...await tokenResponse(app, checked, sid, refreshToken) })
    } catch (err) {
      if (err instanceof InvalidCredentials) return await reply.code(201).send(answer)
      throw err
    }
  })
}

const publicUser = (u: WordPressUser) => ({ id: u.id, login: u.login, email: u.email, display_name: u.display_name, roles: u.roles })
