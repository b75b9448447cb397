import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { TooManyAttempts } from '../errors.js'
import { keyedHash } from '../util/keyed-hash.js'

export const FORGOT_PATH = '/wp-json/api/v1/password/forgot'

const ForgotRequest = Type.Object({
  // A login or an email address, as on wp-login.php?action=lostpassword.
  username_or_email: Type.String({ minLength: 1, maxLength: 256 })
}, { additionalProperties: false })
type ForgotRequest = Static<typeof ForgotRequest>

export const FORGOT_ACCEPTED = { status: 'accepted', message: 'If an account matches, WordPress will send it an email with a link to reset the password.' }

/**
 * POST password/forgot {username_or_email}: always 202 with the same body.
 * The answer goes before WordPress is asked anything, so neither its content
 * nor its timing can depend on the account: only the IP's own limits (failed
 * attempts, reset mails) may refuse it. Then, off the request, the bridge
 * names the account, its own mail limit is counted, and WordPress's
 * retrieve_password() sends its mail (with accounts.resetUrl as the link);
 * it runs for unknown logins too, so WordPress's hooks see every request.
 */
export function forgotRoute (app: FastifyInstance, bodyLimit: number): void {
  const { resetUrl } = app.config.accounts
  const { passwords, bridge } = app
  const { captcha, mail, later } = app.accounts
  const hashKey = app.config.env.hashSecret

  app.post<{ Body: ForgotRequest }>(FORGOT_PATH, { bodyLimit, schema: { body: ForgotRequest } }, async (request, reply) => {
    await captcha.verify(request, 'password_forgot')
    const ip = request.ip
    await passwords.checkAttempt(null, ip)
    await mail.check('mail', null, ip)
    await mail.failed('mail', null, ip)
    const login = request.body.username_or_email
    const log = request.log
    later(async () => {
      const account = await bridge.forgotPassword(login, false)
      if (account.startsWith('user:')) {
        const key = keyedHash(hashKey, 'mail-account', account)
        try {
          await mail.check('mail', key, null)
        } catch (err) {
          if (!(err instanceof TooManyAttempts)) throw err
          log.info({ audit: { action: 'account.password_forgot', target: account, refused: 'mail limit' } }, 'reset mail not sent: the account\'s mail limit is reached')
          return
        }
        await mail.failed('mail', key, null)
      }
      await bridge.forgotPassword(login, true, resetUrl, ip)
    })
    return await reply.code(202).header('cache-control', 'no-store').send(FORGOT_ACCEPTED)
  })
}
