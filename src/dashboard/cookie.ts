import type { FastifyReply, FastifyRequest } from 'fastify'
import { fastifyCookie } from '@fastify/cookie'
import { OriginRefused } from '../errors.js'

// The dashboard's cookie. Over TLS it is `__Secure-wpag_dash`: the prefix makes
// browsers refuse it unless it is Secure and set by an https origin. Not
// `__Host-`, which demands Path=/: the cookie would then travel with every
// request to WordPress, where any plugin could read an administrator's
// session. Path=/_gateway/ keeps it to the gateway's own routes.

export const COOKIE_PATH = '/_gateway/'
const PLAIN = 'wpag_dash'
const SECURE = '__Secure-wpag_dash'

/** TLS as the rest of the gateway decides it: the connection, or X-Forwarded-Proto from a trusted proxy (server.trustProxy). */
const isTls = (request: FastifyRequest) => request.protocol === 'https'

/** The session id the request's cookie carries, or null. Only the name that fits the connection counts. */
export function readSessionCookie (request: FastifyRequest): string | null {
  const header = request.headers.cookie
  if (header === undefined) return null
  const value = fastifyCookie.parse(header)[isTls(request) ? SECURE : PLAIN]
  return value === undefined || value === '' ? null : value
}

export function setSessionCookie (request: FastifyRequest, reply: FastifyReply, id: string, maxAgeSeconds: number): void {
  void reply.header('set-cookie', fastifyCookie.serialize(isTls(request) ? SECURE : PLAIN, id, {
    path: COOKIE_PATH,
    httpOnly: true,
    secure: isTls(request),
    sameSite: 'strict',
    maxAge: maxAgeSeconds
  }))
}

export function clearSessionCookie (request: FastifyRequest, reply: FastifyReply): void {
  void reply.header('set-cookie', fastifyCookie.serialize(isTls(request) ? SECURE : PLAIN, '', {
    path: COOKIE_PATH,
    httpOnly: true,
    secure: isTls(request),
    sameSite: 'strict',
    expires: new Date(0)
  }))
}

/**
 * A request made with the dashboard cookie (or logging in to get it) must
 * come from the dashboard's own origin. SameSite=Strict already keeps the
 * cookie off cross-site requests; this also refuses same-site ones from a
 * sibling origin (another port or subdomain), which SameSite lets through,
 * and which `cors.origins` with `credentials` could otherwise let read the
 * admin API with the cookie.
 *
 * A change (`change`: any method but GET and HEAD) must show where it comes
 * from: browsers send `Origin` on every POST, PUT, PATCH and DELETE and
 * `Sec-Fetch-Site` on every request (Fetch Metadata), so one with neither is
 * no browser's, and is refused. A read may come without either (an older
 * browser, a top-level visit: `Sec-Fetch-Site: none`), but never from
 * another origin.
 */
export function assertSameOrigin (request: FastifyRequest, change = true): void {
  const site = request.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && (change || site !== 'none')) throw new OriginRefused()
  const origin = request.headers.origin
  if (origin === undefined) {
    if (change && site === undefined) throw new OriginRefused()
    return
  }
  if (origin !== `${request.protocol}://${request.host}`) throw new OriginRefused()
}
