import type { FastifyInstance } from 'fastify'
import { InvalidCredentials, TooManyAttempts } from '../errors.js'
import type { WordPressUser } from '../bridge/client.js'

/**
 * A WordPress password (login or email), checked by WordPress and throttled
 * per account and per IP (src/throttle): refused before the check while
 * either has failed too often, and after a failure that reaches the limit.
 * Every path that takes a user's password goes through here: the token
 * endpoint, Basic, the OAuth password grant.
 */
export async function checkPassword (app: FastifyInstance, login: string, password: string, ip: string): Promise<WordPressUser> {
  const account = login.trim().toLowerCase()
  await app.throttle.check('login', account, ip)
  try {
    const user = await app.bridge.authenticate(login, password)
    await app.throttle.succeeded('login', account)
    return user
  } catch (err) {
    if (!(err instanceof InvalidCredentials)) throw err
    const wait = await app.throttle.failed('login', account, ip)
    throw wait > 0 ? new TooManyAttempts(wait) : err
  }
}
