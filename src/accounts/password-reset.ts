import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { ResetKeyInvalid } from '../errors.js'

export const RESET_PATH = '/wp-json/api/v1/password/reset'

const ResetRequest = Type.Object({
  login: Type.String({ minLength: 1, maxLength: 256 }),
  key: Type.String({ minLength: 1, maxLength: 128 }),
  password: Type.String({ minLength: 1, maxLength: 4096 })
}, { additionalProperties: false })
type ResetRequest = Static<typeof ResetRequest>

/**
 * POST password/reset {login, key, password}: the key from WordPress's
 * reset mail, checked by check_password_reset_key() and spent by
 * reset_password() (bridge). A wrong, used, expired or another user's key,
 * or an unknown login, all answer GW_ERR_RESET_KEY_INVALID, and count as a
 * failed attempt at that account and from that IP, like a wrong password.
 * Success ends every session, API key and remembered Basic login of the
 * user (the bridge's password_changed event, and the gateway itself).
 */
export function resetRoute (app: FastifyInstance, bodyLimit: number): void {
  const { passwords, bridge } = app
  const { passwordRules } = app.accounts

  app.post<{ Body: ResetRequest }>(RESET_PATH, { bodyLimit, schema: { body: ResetRequest } }, async (request, reply) => {
    const { login, key, password } = request.body
    const ip = request.ip
    await passwords.checkAttempt(null, ip)
    passwordRules.check(password, { login })
    // The account before the key is tried: one refused for failed attempts is not reset.
    const account = await bridge.forgotPassword(login, false)
    await passwords.checkAttempt(account, ip)
    const { user } = await bridge.resetPassword(login, key, password, ip)
    if (user === null) {
      await passwords.failedAttempt(account, ip)
      throw new ResetKeyInvalid()
    }
    await passwords.succeededAttempt(account)
    // The bridge's event has done this already where events reach the gateway; done here too, so it holds where they do not.
    await app.userChanges.changed(user.id, 'password_changed')
    app.audit.action(request, 'account.password_reset', `user:${user.id}`, {}, `user:${user.id}`)
    return await reply.header('cache-control', 'no-store').send({ status: 'reset', message: 'The password has been reset. Log in with the new one.' })
  })
}
