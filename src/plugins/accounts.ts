import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { Captcha } from '../accounts/captcha.js'
import { PasswordRules } from '../accounts/password-rules.js'
import { Throttle } from '../throttle/index.js'

export interface AccountServices {
  /** The gateway's floor under new passwords. */
  passwordRules: PasswordRules
  captcha: Captcha
  /** Reset and registration mails per account and IP: counts of their own, apart from failed attempts. */
  mail: Throttle
  /** Work that goes on after the answer (a reset mail): awaited when the gateway closes. */
  later: (work: () => Promise<void>) => void
}

declare module 'fastify' {
  interface FastifyInstance {
    accounts: AccountServices
  }
}

/** What registration and password reset need besides the bridge (README, "Accounts"). */
async function accountsPlugin (app: FastifyInstance): Promise<void> {
  const { accounts } = app.config
  const pending = new Set<Promise<void>>()
  app.decorate('accounts', {
    passwordRules: new PasswordRules(accounts.password),
    captcha: new Captcha(accounts.captcha),
    mail: new Throttle(app.store, accounts.mail, 'wpag:mail:'),
    later (work) {
      const done = work().catch((err: unknown) => { app.log.warn({ err }, 'account work after the answer failed') }).finally(() => pending.delete(done))
      pending.add(done)
    }
  })
  app.addHook('onClose', async () => { await Promise.allSettled([...pending]) })
}

export default fp(accountsPlugin, { name: 'accounts', dependencies: ['store', 'bridge'] })
