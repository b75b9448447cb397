import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { InvalidCredentials, RegistrationClosed, RegistrationRefused } from '../errors.js'
import { checkPassword } from '../throttle/password.js'
import { tokenResponse } from '../tokens/token-response.js'
import { clientInfo } from '../routes/token.js'
import type { WordPressUser } from '../bridge/client.js'

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
  const { passwordRules, captcha, mail } = app.accounts

  app.post<{ Body: RegisterRequest }>(REGISTER_PATH, { bodyLimit, schema: { body: RegisterRequest } }, async (request, reply) => {
    const { enabled, login, revealTaken } = settings.register
    if (enabled === false) throw new RegistrationClosed()
    await captcha.verify(request, 'register')
    const { username, email, password } = request.body
    const ip = request.ip
    await passwords.checkAttempt(null, ip)
    if (password !== undefined) passwordRules.check(password, { login: username, email })
    await mail.check('mail', null, ip)
    await mail.failed('mail', null, ip)

    const result = await bridge.register({ username, email, password, open: enabled === true, resetUrl: settings.resetUrl, clientIp: ip })
    void reply.header('cache-control', 'no-store')
    if (result.refused !== undefined) {
      // Not revealing: what says "taken" is left out, and a refusal for that alone reads as a success.
      const errors = revealTaken ? result.refused.errors : result.refused.errors.filter((e) => !TAKEN.has(e.code))
      if (errors.length === 0) return await reply.code(202).send(REGISTRATION_ACCEPTED)
      await passwords.failedAttempt(null, ip)
      throw new RegistrationRefused(errors.map((e) => e.message).join(' '))
    }
    const user = result.user
    app.audit.action(request, 'account.register', `user:${user.id}`, {}, `user:${user.id}`)
    if (!revealTaken) return await reply.code(202).send(REGISTRATION_ACCEPTED)
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
