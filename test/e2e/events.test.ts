import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createHmac, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { BRIDGE_SECRET, buildTestApp, EVENTS_PORT, password, session, throwawayUser, WP_DIR } from '../helper.js'

// The real WordPress tells the gateway when users change (bridge events to
// WP_AUTH_GATEWAY_URL, which the test WordPress points at this port), and
// the gateway ends that user's sessions before WordPress has even answered.

const LOAD = join(WP_DIR, 'load.php')
// Asynchronous: the gateway answering the bridge's event runs in this very process.
const php = async (code: string) => await promisify(execFile)('php', ['-r', `require '${LOAD}'; ${code}`])

t.test('password, role, deletion and logout in WordPress end the user\'s sessions at once', async (t) => {
  const app = await buildTestApp(t)
  await app.listen({ port: EVENTS_PORT, host: '127.0.0.1' })
  const admin = { authorization: `Bearer ${(await session(app, 'admin', password('admin'))).access_token}` }
  const alive = async (access: string) => (await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${access}` } })).statusCode === 200

  const changes: Array<[string, (id: number) => Promise<void>]> = [
    ['password changed through the REST API', async (id) => {
      const res = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${id}`, headers: admin, payload: { password: 'a-brand-new-password-1' } })
      t.equal(res.statusCode, 200)
    }],
    ['wp_set_password()', async (id) => { await php(`wp_set_password('another-new-password-2', ${id});`) }],
    ['role changed', async (id) => {
      const res = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${id}`, headers: admin, payload: { roles: ['contributor'] } })
      t.equal(res.statusCode, 200)
    }],
    ['logged out of WordPress', async (id) => { await php(`wp_set_current_user(${id}); wp_logout();`) }],
    ['deleted', async (id) => {
      const res = await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${id}?force=true&reassign=1`, headers: admin })
      t.equal(res.statusCode, 200)
    }]
  ]
  for (const [name, change] of changes) {
    const user = await throwawayUser(t, app)
    const pair = await session(app, user.login, user.password)
    const other = await session(app, 'editor', password('editor'))
    t.ok(await alive(pair.access_token), `${name}: alive before`)
    await change(user.id)
    t.notOk(await alive(pair.access_token), `${name}: the access token is refused right after`)
    const refreshed = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } })
    t.equal(refreshed.statusCode, 401, `${name}: the refresh token too`)
    t.ok(await alive(other.access_token), `${name}: other users are untouched`)
  }
})

t.test('events must be signed by the bridge, fresh and never replayed', async (t) => {
  const app = await buildTestApp(t)
  const pair = await session(app, 'author', password('author'))
  const now = Math.floor(Date.now() / 1000)
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const sign = (claims: object, secret = BRIDGE_SECRET) => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'wordpress-bridge', aud: 'wp-auth-gateway', iat: now, exp: now + 30, via: 'bridge', mth: 'POST', rte: '/_gateway/events', jti: randomBytes(16).toString('base64url'), evt: 'logout', uid: pair.user.id, ...claims })}`
    return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
  }
  const send = (assertion: string | undefined, body: object = { type: 'logout', user_id: pair.user.id }) =>
    app.inject({ method: 'POST', url: '/_gateway/events', payload: body, headers: assertion === undefined ? {} : { 'x-wp-gateway-assertion': assertion } })

  const refused: Array<[string, string | undefined]> = [
    ['no assertion', undefined],
    ['wrong secret', sign({}, 'some-other-secret-some-other-secret-0123')],
    ['the gateway\'s own kind of assertion', sign({ iss: 'wp-auth-gateway', aud: 'wordpress-bridge' })],
    ['expired', sign({ iat: now - 100, exp: now - 70 })],
    ['too long-lived', sign({ exp: now + 3600 })],
    ['another route', sign({ rte: '/wp/v2/posts' })],
    ['no jti', sign({ jti: undefined })],
    ['no signed event', sign({ evt: undefined, uid: undefined })],
    // A genuine signature for one event cannot carry another (the body is what the signature says, or nothing).
    ['signed for another user', sign({ uid: 1 })],
    ['signed for another kind', sign({ evt: 'roles_changed' })],
    ['the user as a string', sign({ uid: String(pair.user.id) })]
  ]
  for (const [name, assertion] of refused) {
    const res = await send(assertion)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, 'GW_ERR_EVENT_UNAUTHENTICATED', name)
  }
  const me = () => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${pair.access_token}` } })
  t.equal((await me()).statusCode, 200, 'no refused event changed anything')
  t.equal((await send(sign({}), { type: 'nonsense', user_id: pair.user.id })).statusCode, 400)

  const genuine = sign({})
  t.equal((await send(genuine)).statusCode, 204)
  t.equal((await me()).json().code, 'GW_ERR_TOKEN_REVOKED')
  const replay = await send(genuine)
  t.equal(replay.statusCode, 401, 'a replayed event is refused')
})
