import type { FastifyInstance } from 'fastify'
import formbody from '@fastify/formbody'
import { registerRoute } from '../accounts/register.js'
import { forgotRoute } from '../accounts/password-forgot.js'
import { resetRoute } from '../accounts/password-reset.js'
import { changeRoute } from '../accounts/password-change.js'

const SMALL_BODY = 16 * 1024

/**
 * Registration and password reset (README, "Accounts: registration and
 * password reset"), JSON or form bodies, answered by the gateway and done by
 * WordPress through the bridge; never forwarded.
 */
export default async function accountRoutes (app: FastifyInstance): Promise<void> {
  await app.register(formbody, { bodyLimit: SMALL_BODY })
  registerRoute(app, SMALL_BODY)
  forgotRoute(app, SMALL_BODY)
  resetRoute(app, SMALL_BODY)
  changeRoute(app, SMALL_BODY)
}
