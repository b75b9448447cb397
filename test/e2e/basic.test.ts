import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { randomBytes } from 'node:crypto'
import { buildTestApp, EVENTS_PORT, login, password, REDIS_URL, redisStore, throwawayUser, USERS, WP_DIR, type Login } from '../helper.js'

// Basic credentials through the gateway to the real test WordPress: account
// passwords and Application Passwords, checked by WordPress's own
// wp_authenticate() through the bridge, remembered briefly, throttled.

const LOAD = join(WP_DIR, 'load.php')
const php = async (code: string) => (await promisify(execFile)('php', ['-r', `require '${LOAD}'; ${code}`])).stdout

const ON = { auth: { methods: ['jwt', 'basic'], basic: { requireTls: false } } }
const basic = (user: string, pass: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` })
const me = async (app: FastifyInstance, headers: Record<string, string>) => await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me?context=edit', headers })

/** Counts the password checks WordPress is asked for; the real bridge still answers every one. */
function countBridgeChecks (app: FastifyInstance): { count: number } {
  const counter = { count: 0 }
  const real = app.bridge.authenticate.bind(app.bridge)
  app.bridge.authenticate = async (...args) => { counter.count++; return await real(...args) }
  return counter
}

t.test('Basic is off unless auth.methods names it', async (t) => {
  const app = await buildTestApp(t)
  const res = await me(app, basic('editor', password('editor')))
  t.equal(res.statusCode, 401)
  t.equal(res.json().code, 'GW_ERR_AUTH_SCHEME_UNSUPPORTED')
})

t.test('each role by login or email with its WordPress password; WordPress\'s capabilities still decide', async (t) => {
  const app = await buildTestApp(t, ON)
  for (const role of ['admin', 'editor', 'author', 'contributor', 'subscriber'] as Login[]) {
    for (const name of [role, `${role}@example.test`]) {
      const res = await me(app, basic(name, password(role)))
      t.equal(res.statusCode, 200, `${name}: ${res.body}`)
      t.equal(res.json().id, USERS[role].id, `${name}: WordPress acts as the user`)
    }
  }
  const created = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: basic('editor', password('editor')), payload: { title: 'basic e2e', status: 'draft' } })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json().author, USERS.editor.id)
  const admin = await login(app, 'admin')
  await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/posts/${created.json().id as number}?force=true`, headers: { authorization: `Bearer ${admin}` } })
  const refused = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: basic('subscriber', password('subscriber')), payload: { title: 'no' } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'rest_cannot_create', 'WordPress itself refuses a subscriber')
})

t.test('Application Passwords work over Basic, and only there', async (t) => {
  const app = await buildTestApp(t, ON)
  const user = await throwawayUser(t, app, 'author')
  const made = JSON.parse(await php(`[$p] = WP_Application_Passwords::create_new_application_password(${user.id}, array('name' => 'gateway test')); echo json_encode(array($p, WP_Application_Passwords::chunk_password($p)));`)) as [string, string]
  for (const appPassword of made) {
    const res = await me(app, basic(user.login, appPassword))
    t.equal(res.statusCode, 200, `as WordPress prints it or not (${appPassword.length} chars)`)
    t.equal(res.json().id, user.id)
  }
  const token = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: user.login, password: made[0] } })
  t.equal(token.statusCode, 401, 'an Application Password does not open a session at the token endpoint')
  t.equal((await me(app, basic(user.login, user.password))).statusCode, 200, 'the account password works beside it')
})

t.test('wrong or malformed Basic credentials: 401 with a Basic challenge, never anonymous', async (t) => {
  const app = await buildTestApp(t, ON)
  const cases: Array<[string, string, string]> = [
    ['wrong password', basic('editor', 'not-the-password').authorization, 'GW_ERR_INVALID_CREDENTIALS'],
    ['unknown user', basic('nobody-here', 'whatever-123').authorization, 'GW_ERR_INVALID_CREDENTIALS'],
    ['not base64', 'Basic ***', 'GW_ERR_BASIC_MALFORMED'],
    ['unpadded base64', `Basic ${Buffer.from('editor:x').toString('base64').replace(/=+$/, '')}`, 'GW_ERR_BASIC_MALFORMED'],
    ['no colon', `Basic ${Buffer.from('editor').toString('base64')}`, 'GW_ERR_BASIC_MALFORMED'],
    ['empty login', basic('', 'pw').authorization, 'GW_ERR_BASIC_MALFORMED'],
    ['empty password', basic('editor', '').authorization, 'GW_ERR_BASIC_MALFORMED'],
    ['a control character', basic('editor\n', password('editor')).authorization, 'GW_ERR_BASIC_MALFORMED'],
    ['not UTF-8', `Basic ${Buffer.from([0x65, 0xff, 0x3a, 0x70]).toString('base64')}`, 'GW_ERR_BASIC_MALFORMED'],
    ['no value', 'Basic', 'GW_ERR_TOKEN_MALFORMED']
  ]
  for (const [name, authorization, code] of cases) {
    const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { authorization } })
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, code, name)
    if (code !== 'GW_ERR_TOKEN_MALFORMED') t.match(res.headers['www-authenticate'], /^Basic realm="wp-auth-gateway"/, `${name}: challenges for Basic`)
  }
})

t.test('plain HTTP is refused unless the proxy in front says the client used HTTPS', async (t) => {
  const strict = await buildTestApp(t, { auth: { methods: ['jwt', 'basic'] } })
  const plain = await me(strict, basic('editor', password('editor')))
  t.equal(plain.statusCode, 403)
  t.equal(plain.json().code, 'GW_ERR_TLS_REQUIRED')
  const forged = await me(strict, { ...basic('editor', password('editor')), 'x-forwarded-proto': 'https' })
  t.equal(forged.statusCode, 403, 'X-Forwarded-Proto counts only from a trusted proxy')
  const behindProxy = await buildTestApp(t, { server: { trustProxy: true }, auth: { methods: ['jwt', 'basic'] } })
  const res = await me(behindProxy, { ...basic('editor', password('editor')), 'x-forwarded-proto': 'https' })
  t.equal(res.statusCode, 200, res.body)
})

t.test('a verified login is remembered: one WordPress check for many requests, a burst included', async (t) => {
  const app = await buildTestApp(t, ON)
  const checks = countBridgeChecks(app)
  const headers = basic('author', password('author'))
  const burst = await Promise.all(Array.from({ length: 5 }, async () => (await me(app, headers)).statusCode))
  t.same(burst, [200, 200, 200, 200, 200])
  t.equal((await me(app, headers)).statusCode, 200)
  t.equal(checks.count, 1, 'WordPress was asked once')
  t.equal((await me(app, basic('author@example.test', password('author')))).statusCode, 200)
  t.equal(checks.count, 2, 'another spelling is its own entry')
  t.equal((await me(app, basic('author', 'a-wrong-password'))).statusCode, 401)
  t.equal((await me(app, basic('author', 'a-wrong-password'))).statusCode, 401)
  t.equal(checks.count, 4, 'failures are never remembered')

  const uncached = await buildTestApp(t, { auth: { methods: ['jwt', 'basic'], basic: { requireTls: false, cacheSeconds: 0 } } })
  const uncachedChecks = countBridgeChecks(uncached)
  await me(uncached, headers)
  await me(uncached, headers)
  t.equal(uncachedChecks.count, 2, 'cacheSeconds: 0 asks WordPress every time')
})

t.test('a password change, role change, deletion or logout everywhere drops what is remembered, on every replica', async (t) => {
  const app = await buildTestApp(t, ON)
  await app.listen({ port: EVENTS_PORT, host: '127.0.0.1' })
  // A second replica on the same store: it learns of the change only through the user's cut-off.
  const other = await buildTestApp(t, ON, { store: app.store })
  const admin = { authorization: `Bearer ${await login(app, 'admin')}` }

  const user = await throwawayUser(t, app, 'author')
  const old = basic(user.login, user.password)
  t.equal((await me(app, old)).statusCode, 200)
  t.equal((await me(other, old)).statusCode, 200)
  const changed = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: admin, payload: { password: 'a-new-password-for-basic-1' } })
  t.equal(changed.statusCode, 200)
  t.equal((await me(app, old)).statusCode, 401, 'the old password at once, on the replica that got the event')
  t.equal((await me(other, old)).statusCode, 401, 'and on the other')
  t.equal((await me(other, basic(user.login, 'a-new-password-for-basic-1'))).statusCode, 200, 'the new one works')

  const renamed = basic(user.login, 'a-new-password-for-basic-1')
  const roles = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: admin, payload: { roles: ['editor'] } })
  t.equal(roles.statusCode, 200)
  const after = await me(other, renamed)
  t.equal(after.statusCode, 200)
  t.same(after.json().roles, ['editor'], 'a role change is seen at once')

  t.equal((await me(other, renamed)).statusCode, 200)
  const logoutChecks = countBridgeChecks(other)
  await php(`wp_set_current_user(${user.id}); wp_logout();`)
  t.equal((await me(other, renamed)).statusCode, 200, 'after a logout in WordPress, the password is asked for again')
  t.equal(logoutChecks.count, 1)

  const revoked = await app.inject({ method: 'POST', url: `/_gateway/admin/users/${user.id}/revoke`, headers: admin })
  t.equal(revoked.statusCode, 200, revoked.body)
  t.equal((await me(other, renamed)).statusCode, 200, 'after logout everywhere, the password is asked for again')
  t.equal(logoutChecks.count, 2)

  const deleted = await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${user.id}?force=true&reassign=1`, headers: admin })
  t.equal(deleted.statusCode, 200)
  t.equal((await me(other, renamed)).statusCode, 401, 'a deleted user\'s remembered login is refused')
})

t.test('guessing over Basic is throttled per account, login and email alike, and the cache is no oracle', async (t) => {
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'basic'], basic: { requireTls: false }, throttle: { account: { attempts: 3, seconds: 60 }, ip: { attempts: 100, seconds: 60 } } } })
  const user = await throwawayUser(t, app, 'author')
  const right = basic(user.login, user.password)
  t.equal((await me(app, right)).statusCode, 200, 'remembered before the guessing starts')
  const codes = []
  for (const name of [user.login, `${user.login}@example.test`, user.login.toUpperCase(), user.login]) {
    codes.push((await me(app, basic(name, 'guess-' + name))).statusCode)
  }
  t.same(codes, [401, 401, 429, 429], 'a login and its email count as one account')
  const cached = await me(app, right)
  t.equal(cached.statusCode, 429, 'the remembered right password is refused too while the account is')
  t.ok(Number(cached.headers['retry-after']) > 0)
  t.equal((await me(app, basic(`${user.login}@example.test`, user.password))).statusCode, 429, 'and the right password by email')
  const unknown = []
  for (let i = 0; i < 4; i++) unknown.push((await me(app, basic('no-such-user-at-all', `guess-${i}`))).statusCode)
  t.same(unknown, [401, 401, 429, 429], 'unknown accounts are counted the same way')
})

t.test('failed attempts on one replica count on the other', async (t) => {
  // Two gateways with connections of their own to one Redis, as two replicas would have.
  const keyPrefix = `wpag-test:${randomBytes(6).toString('hex')}:`
  const config = { auth: { methods: ['jwt', 'basic'], basic: { requireTls: false }, throttle: { account: { attempts: 4, seconds: 60 }, ip: { attempts: 100, seconds: 60 } } } }
  const replicas = []
  for (let i = 0; i < 2; i++) {
    const store = redisStore(REDIS_URL, { keyPrefix })
    await store.connect()
    t.teardown(async () => { await store.close() })
    replicas.push(await buildTestApp(t, config, { store }))
  }
  const [a, b] = replicas as [FastifyInstance, FastifyInstance]
  const user = await throwawayUser(t, a, 'author')
  const codes = []
  for (const app of [a, b, a, b, a, b]) codes.push((await me(app, basic(user.login, `guess-${codes.length}`))).statusCode)
  t.same(codes, [401, 401, 401, 429, 429, 429], 'the fourth failure, on either replica, reaches the limit')
  t.equal((await me(b, basic(user.login, user.password))).statusCode, 429, 'the right password too, on the replica that never saw the login')
  t.equal((await a.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: user.login, password: user.password } })).statusCode, 429, 'and at the token endpoint: one count for every path')
})
