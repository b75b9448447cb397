import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { AuthMethodRefused, InvalidCredentials, PasswordWeak, TokenMissing, UserNotFound } from '../errors.js'
import { checkPassword } from '../throttle/password.js'
import { tokenResponse } from '../tokens/token-response.js'
import { clientInfo } from '../routes/token.js'

export const CHANGE_PATH = '/wp-json/api/v1/password/change'

const ChangeRequest = Type.Object({
  current_password: Type.String({ minLength: 1, maxLength: 4096 }),
  new_password: Type.String({ minLength: 1, maxLength: 4096 })
}, { additionalProperties: false })
type ChangeRequest = Static<typeof ChangeRequest>

/**
 * POST password/change {current_password, new_password} with the caller's
 * access token. The current password goes through the one throttled check
 * (a wrong one counts against the account like a failed login); WordPress
 * sets the new one (wp_set_password()). Then every session of the user ends
 * (the bridge's event, and the gateway itself, before anything else), and
 * only after that is the caller's fresh pair made, so the cut-off cannot
 * reach it.
 */
export function changeRoute (app: FastifyInstance, bodyLimit: number): void {
  const { bridge } = app
  const { passwordRules } = app.accounts

  app.post<{ Body: ChangeRequest }>(CHANGE_PATH, {
    bodyLimit,
    schema: { body: ChangeRequest },
    // Who is asking, before the body is read: the gateway's own access token only (not an API key, Basic or a client's token).
    onRequest: async (request) => {
      const identity = await app.authentication.authenticate(request)
      if (identity === null) throw new TokenMissing()
      request.audit = { ...request.audit, identity }
      if (identity.method !== 'jwt' || identity.clientId !== undefined || identity.scopes !== undefined) throw new AuthMethodRefused(identity.method)
    }
  }, async (request, reply) => {
    const identity = request.audit!.identity!
    const { current_password: current, new_password: next } = request.body
    passwordRules.check(next, { login: identity.login, email: identity.email })
    if (current === next) throw new PasswordWeak('The new password must differ from the current one.')
    const user = await checkPassword(app, identity.login, current, request.ip)
    if (String(user.id) !== identity.userId) throw new InvalidCredentials()
    const updated = await bridge.setPassword(user.id, next)
    if (updated === null) throw new UserNotFound()
    await app.userChanges.changed(user.id, 'password_changed')
    app.audit.action(request, 'account.password_change', `user:${user.id}`, {}, `user:${user.id}`)
    const { sid, refreshToken } = await app.sessions.create(user.id, clientInfo(request))
    return await reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(await tokenResponse(app, updated, sid, refreshToken))
  })
}
