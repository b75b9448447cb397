import t from 'tap'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, EVENTS_PORT, redisStore, sentMail, session, startRedis, throwawayUser, usersToDelete, waitForMail, withOption, wpPhp } from '../helper.js'

// Registration and password reset against the real WordPress, with its mail
// recorded instead of sent (test/fixtures/wordpress/mu-plugins/wpag-test-mail.php).

const REGISTER = '/wp-json/api/v1/register'
const FORGOT = '/wp-json/api/v1/password/forgot'
const RESET = '/wp-json/api/v1/password/reset'
const CHANGE = '/wp-json/api/v1/password/change'
const APP_LINK = 'myapp://reset?key={key}&login={login}'
const GOOD = () => `Kestrel-violin-${randomBytes(4).toString('hex')}`
const name = () => `reg-${randomBytes(5).toString('hex')}`
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const me = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(token) })
const post = (app: FastifyInstance, url: string, payload: object, ip = '127.0.0.1') => app.inject({ method: 'POST', url, payload, remoteAddress: ip })

/** The key and login of the last app link mailed to an address. */
async function mailedKey (email: string, count: number): Promise<{ key: string, login: string }> {
  const mails = await waitForMail(email, count)
  if (mails.length < count) throw new Error(`no mail #${count} to ${email}`)
  const m = /myapp:\/\/reset\?key=([A-Za-z0-9]+)&login=(\S+)/.exec(mails[count - 1]!.message)
  if (m === null) throw new Error(`no app link in: ${mails[count - 1]!.message}`)
  return { key: m[1]!, login: decodeURIComponent(m[2]!) }
}

t.test('registration is open only when WordPress or the configuration opens it, and gives the default role, never more', async (t) => {
  const app = await buildTestApp(t)
  const made = usersToDelete(t, app)
  await withOption(t, 'users_can_register', 0)
  const closed = await post(app, REGISTER, { username: name(), email: `${name()}@example.test`, password: GOOD() })
  t.equal(closed.statusCode, 403, 'WordPress\'s "Anyone can register" is off')
  t.equal(closed.json().code, 'GW_ERR_REGISTRATION_CLOSED')

  await wpPhp("update_option('users_can_register', 1);")
  const login = name()
  const pass = GOOD()
  const res = await post(app, REGISTER, { username: login, email: `${login}@example.test`, password: pass })
  t.equal(res.statusCode, 201, res.body)
  const { user } = res.json()
  made(user.id)
  t.match(user, { login, email: `${login}@example.test`, roles: ['subscriber'] }, 'WordPress\'s default role')
  t.notOk('access_token' in res.json(), 'no tokens unless accounts.register.login')
  t.equal((await session(app, login, pass)).user.id, user.id, 'the chosen password logs in')
  t.ok(sentMail('admin@example.test').some((m) => m.message.includes(login)), 'WordPress told the administrator, as its own form does')
  t.same(sentMail(`${login}@example.test`), [], 'no "set your password" mail to a user who chose one')

  const withRole = await post(app, REGISTER, { username: name(), email: `${name()}@example.test`, password: GOOD(), role: 'administrator' })
  t.equal(withRole.statusCode, 400, 'a role in the request is refused, not ignored')
  await withOption(t, 'default_role', 'administrator')
  const tooMuch = await post(app, REGISTER, { username: name(), email: `${name()}@example.test`, password: GOOD() })
  t.equal(tooMuch.statusCode, 403, 'a default role that can manage the site is never handed out')
  t.equal(tooMuch.json().code, 'GW_ERR_REGISTRATION_CLOSED')
})

t.test('the configuration overrides WordPress both ways', async (t) => {
  await withOption(t, 'users_can_register', 0)
  const open = await buildTestApp(t, { accounts: { register: { enabled: true } } })
  const made = usersToDelete(t, open)
  const res = await post(open, REGISTER, { username: name(), email: `${name()}@example.test`, password: GOOD() })
  t.equal(res.statusCode, 201, res.body)
  made(res.json().user.id)

  await wpPhp("update_option('users_can_register', 1);")
  const shut = await buildTestApp(t, { accounts: { register: { enabled: false } } })
  t.equal((await post(shut, REGISTER, { username: name(), email: `${name()}@example.test`, password: GOOD() })).json().code, 'GW_ERR_REGISTRATION_CLOSED')
})

t.test('taken names and weak passwords; login on registration; a mailed link for a user without a password', async (t) => {
  await withOption(t, 'users_can_register', 1)
  const app = await buildTestApp(t, { accounts: { register: { login: true }, resetUrl: APP_LINK } })
  const made = usersToDelete(t, app)

  const taken = await post(app, REGISTER, { username: 'editor', email: `${name()}@example.test`, password: GOOD() })
  t.equal(taken.statusCode, 400)
  t.match(taken.json(), { code: 'GW_ERR_REGISTRATION_REFUSED', message: /username is already registered/ }, 'as WordPress\'s own form says it')
  t.match((await post(app, REGISTER, { username: name(), email: 'editor@example.test', password: GOOD() })).json(), { code: 'GW_ERR_REGISTRATION_REFUSED', message: /email address is already registered/ })
  t.match((await post(app, REGISTER, { username: name(), email: 'not-an-address', password: GOOD() })).json(), { code: 'GW_ERR_REGISTRATION_REFUSED', message: /email address is not correct/ })

  const login = name()
  const weak: Array<[string, string]> = [['short', 'Ab1!'], ['very common', 'password1234'], ['common with digits', 'Sunshine2024!'], ['the username', login], ['one character', 'aaaaaaaaaaaa']]
  for (const [why, password] of weak) {
    const res = await post(app, REGISTER, { username: login, email: `${login}@example.test`, password })
    t.equal(res.statusCode, 400, why)
    t.equal(res.json().code, 'GW_ERR_PASSWORD_WEAK', why)
  }
  t.equal(await wpPhp(`echo username_exists('${login}') ? 'yes' : 'no';`), 'no', 'nothing was created')

  const pass = GOOD()
  const res = await post(app, REGISTER, { username: login, email: `${login}@example.test`, password: pass })
  t.equal(res.statusCode, 201, res.body)
  const body = res.json()
  made(body.user.id)
  t.match(body, { status: 'registered', token_type: 'Bearer', user: { login, roles: ['subscriber'] } })
  t.equal((await me(app, body.access_token)).statusCode, 200, 'login: true gives a working pair at once')

  const bare = name()
  const noPass = await post(app, REGISTER, { username: bare, email: `${bare}@example.test` })
  t.equal(noPass.statusCode, 201, noPass.body)
  made(noPass.json().user.id)
  t.notOk('access_token' in noPass.json(), 'no password, no tokens')
  const link = await mailedKey(`${bare}@example.test`, 1)
  t.equal(link.login, bare, 'WordPress\'s "set your password" mail carries the app\'s link')
  const set = await post(app, RESET, { login: bare, key: link.key, password: pass })
  t.equal(set.statusCode, 200, set.body)
  t.equal((await session(app, bare, pass)).user.id, noPass.json().user.id)
})

t.test('revealTaken: false answers a taken name exactly like a new account', async (t) => {
  await withOption(t, 'users_can_register', 1)
  const app = await buildTestApp(t, { accounts: { register: { revealTaken: false } } })
  const made = usersToDelete(t, app)
  const login = name()
  const fresh = await post(app, REGISTER, { username: login, email: `${login}@example.test`, password: GOOD() })
  const takenName = await post(app, REGISTER, { username: 'editor', email: `${name()}@example.test`, password: GOOD() })
  const takenEmail = await post(app, REGISTER, { username: name(), email: 'editor@example.test', password: GOOD() })
  for (const res of [fresh, takenName, takenEmail]) {
    t.equal(res.statusCode, 202)
    t.same(res.json(), fresh.json())
  }
  // Answered before WordPress is asked: the new account appears a moment later.
  let id = 0
  for (let i = 0; i < 50 && id === 0; i++) {
    id = Number(await wpPhp(`echo (int) username_exists('${login}');`))
    if (id === 0) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  t.ok(id > 0, 'the new account is made')
  made(id)
  const invalid = name()
  const refused = await post(app, REGISTER, { username: invalid, email: 'nope', password: GOOD() })
  t.equal(refused.statusCode, 202, 'what WordPress refuses is not said either: the answer comes before WordPress is asked')
  t.same(refused.json(), fresh.json())
  const gateway = await post(app, REGISTER, { username: name(), email: `${name()}@example.test`, password: 'password1234' })
  t.equal(gateway.statusCode, 400, 'the gateway\'s own checks, which depend on no account, still answer')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.equal(Number(await wpPhp(`echo (int) username_exists('${invalid}');`)), 0, 'and the refused registration made nothing')
})

t.test('forgot: one answer for known and unknown accounts, in the same time; WordPress mails the app\'s link', async (t) => {
  const app = await buildTestApp(t, { accounts: { resetUrl: APP_LINK, mail: { ip: { attempts: 1000, seconds: 60 } } } })
  const user = await throwawayUser(t, app)
  const email = `${user.login}@example.test`
  const known = await post(app, FORGOT, { username_or_email: user.login }, '10.7.0.5')
  const unknown = await post(app, FORGOT, { username_or_email: 'nobody-at-all' })
  const unknownEmail = await post(app, FORGOT, { username_or_email: 'nobody-at-all@example.test' })
  for (const res of [known, unknown, unknownEmail]) {
    t.equal(res.statusCode, 202)
    t.same(res.json(), known.json())
    t.equal(res.headers['content-length'], known.headers['content-length'])
  }
  const link = await mailedKey(email, 1)
  t.equal(link.login, user.login)
  t.match(link.key, /^[A-Za-z0-9]{20}$/)
  t.notMatch(sentMail(email)[0]!.message, /wp-login\.php/, 'WordPress\'s own link is replaced')
  t.match(sentMail(email)[0]!.message, /originated from the IP address 10\.7\.0\.5\./, 'WordPress\'s mail names the client\'s address, not the gateway\'s')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.same(sentMail('nobody-at-all@example.test'), [], 'no mail for an unknown address')

  // Timing: the answer goes before WordPress is asked, so it cannot depend on the account. Each request is
  // timed once the work after the one before has settled, so that what is measured is the request alone.
  const times: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] }
  for (let i = 0; i < 20; i++) {
    for (const kind of ['known', 'unknown'] as const) {
      await new Promise((resolve) => setTimeout(resolve, 150))
      const start = process.hrtime.bigint()
      const res = await post(app, FORGOT, { username_or_email: kind === 'known' ? email : `nobody-${i}@example.test` })
      times[kind].push(Number(process.hrtime.bigint() - start) / 1e6)
      t.equal(res.statusCode, 202)
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const [k, u] = [median(times.known), median(times.unknown)]
  t.comment(`forgot, median of 20: known ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms`)
  t.ok(Math.abs(k - u) < 10, `medians within 10 ms (known ${k.toFixed(2)}, unknown ${u.toFixed(2)})`)

  await waitForMail(email, 3)
  await new Promise((resolve) => setTimeout(resolve, 2000)) // the rest of the work after the answers
  t.equal(sentMail(email).length, 3, 'the account\'s mail limit (3) held, silently')
})

t.test('forgot: the IP\'s mail limit answers 429, whatever the account', async (t) => {
  const app = await buildTestApp(t, { accounts: { mail: { ip: { attempts: 2, seconds: 60 } } } })
  const codes = []
  for (const who of ['editor', 'nobody-here', 'author']) codes.push((await post(app, FORGOT, { username_or_email: who }, '10.9.0.1')).statusCode)
  t.same(codes, [202, 202, 429])
  t.equal((await post(app, FORGOT, { username_or_email: 'author' }, '10.9.0.2')).statusCode, 202, 'another address has its own count')
})

t.test('reset: a good key works once; used, expired, another user\'s and wrong keys are refused alike', async (t) => {
  const app = await buildTestApp(t, { accounts: { resetUrl: APP_LINK } })
  const a = await throwawayUser(t, app)
  const b = await throwawayUser(t, app)
  const before = await session(app, a.login, a.password)
  await post(app, FORGOT, { username_or_email: a.login })
  await post(app, FORGOT, { username_or_email: `${b.login}@example.test` })
  const keyA = (await mailedKey(`${a.login}@example.test`, 1)).key
  const keyB = (await mailedKey(`${b.login}@example.test`, 1)).key
  const pass = GOOD()

  t.equal((await post(app, RESET, { login: a.login, key: keyA, password: 'password1234' })).json().code, 'GW_ERR_PASSWORD_WEAK', 'a weak password is refused before the key is spent')
  const refusals = [
    await post(app, RESET, { login: a.login, key: keyB, password: pass }),
    await post(app, RESET, { login: a.login, key: 'A'.repeat(20), password: pass }),
    await post(app, RESET, { login: 'nobody-here', key: keyA, password: pass })
  ]
  for (const res of refusals) {
    t.equal(res.statusCode, 400)
    t.same(res.json(), { code: 'GW_ERR_RESET_KEY_INVALID', message: 'The password reset key is invalid or has expired.', data: { status: 400 } })
  }

  const ok = await post(app, RESET, { login: a.login, key: keyA, password: pass })
  t.equal(ok.statusCode, 200, ok.body)
  t.equal((await me(app, before.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'the sessions of before have ended')
  t.equal((await post(app, '/wp-json/api/v1/token/refresh', { refresh_token: before.refresh_token })).statusCode, 401)
  t.equal((await post(app, '/wp-json/api/v1/token', { username: a.login, password: a.password })).statusCode, 401, 'the old password is gone')
  t.equal((await session(app, a.login, pass)).user.id, a.id, 'the new one works')
  t.same((await post(app, RESET, { login: a.login, key: keyA, password: GOOD() })).json().code, 'GW_ERR_RESET_KEY_INVALID', 'a used key')

  // Expired: WordPress's key is `time:hash`; its time is set back two days (password_reset_expiration is one).
  await wpPhp(`global $wpdb; $u = get_userdata(${b.id}); list($t, $h) = explode(':', $u->user_activation_key, 2); $wpdb->update($wpdb->users, array('user_activation_key' => (time() - 2 * DAY_IN_SECONDS) . ':' . $h), array('ID' => ${b.id})); clean_user_cache(${b.id});`)
  const expired = await post(app, RESET, { login: b.login, key: keyB, password: pass })
  t.same(expired.json(), refusals[0]!.json(), 'an expired key')
  t.equal((await session(app, b.login, b.password)).user.id, b.id, 'b\'s password is untouched')
})

t.test('reset: wrong keys count as failed attempts at the account', async (t) => {
  const app = await buildTestApp(t, { auth: { throttle: { account: { attempts: 3, seconds: 60 }, ip: { attempts: 100, seconds: 60 } } } })
  const user = await throwawayUser(t, app)
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await post(app, RESET, { login: user.login, key: `guess${i}`.padEnd(20, 'x'), password: GOOD() }, `10.8.0.${i}`)).statusCode)
  t.same(codes, [400, 400, 429, 429], 'from four addresses: the account reached its limit')
  t.equal((await post(app, '/wp-json/api/v1/token', { username: user.login, password: user.password }, '10.8.0.9')).statusCode, 429, 'and its logins are refused too')
})

t.test('change: the caller gets a fresh pair, every other session ends, the old token is refused', async (t) => {
  const app = await buildTestApp(t, { auth: { throttle: { account: { attempts: 3, seconds: 60 }, ip: { attempts: 100, seconds: 60 } } } })
  // The bridge's password_changed event reaches this gateway, as in production: the fresh pair must outlive it.
  await app.listen({ port: EVENTS_PORT, host: '127.0.0.1' })
  const user = await throwawayUser(t, app)
  const caller = await session(app, user.login, user.password)
  const other = await session(app, user.login, user.password)
  const change = (token: string, payload: object) => app.inject({ method: 'POST', url: CHANGE, headers: bearer(token), payload })

  t.equal((await app.inject({ method: 'POST', url: CHANGE, payload: { current_password: user.password, new_password: GOOD() } })).json().code, 'GW_ERR_TOKEN_MISSING')
  t.equal((await change(caller.access_token, { current_password: user.password, new_password: 'password1234' })).json().code, 'GW_ERR_PASSWORD_WEAK')
  const wrong = await change(caller.access_token, { current_password: 'not-it', new_password: GOOD() })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'GW_ERR_INVALID_CREDENTIALS')

  const pass = GOOD()
  const res = await change(caller.access_token, { current_password: user.password, new_password: pass })
  t.equal(res.statusCode, 200, res.body)
  const fresh = res.json()
  t.match(fresh, { token_type: 'Bearer', user: { id: user.id } })
  t.equal((await me(app, caller.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'the token that asked is refused')
  t.equal((await me(app, other.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'so is the other session\'s')
  t.equal((await post(app, '/wp-json/api/v1/token/refresh', { refresh_token: other.refresh_token })).statusCode, 401)
  t.equal((await me(app, fresh.access_token)).statusCode, 200, 'the fresh pair works')
  const refreshed = await post(app, '/wp-json/api/v1/token/refresh', { refresh_token: fresh.refresh_token })
  t.equal(refreshed.statusCode, 200, 'and refreshes')
  t.equal((await session(app, user.login, pass)).user.id, user.id, 'the new password logs in')

  // Wrong current passwords count against the account like failed logins.
  const token = refreshed.json().access_token
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await change(token, { current_password: 'not-it', new_password: GOOD() })).statusCode)
  t.same(codes, [401, 401, 429, 429], 'the success before cleared the count')
})

t.test('change: only the gateway\'s own access token', async (t) => {
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'apikey'] } })
  const user = await throwawayUser(t, app)
  const pair = await session(app, user.login, user.password)
  const key = await app.inject({ method: 'POST', url: '/wp-json/api/v1/api-keys', headers: bearer(pair.access_token), payload: { name: 'k' } })
  const res = await app.inject({ method: 'POST', url: CHANGE, headers: bearer(key.json().key), payload: { current_password: user.password, new_password: GOOD() } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'GW_ERR_AUTH_METHOD_REFUSED')
})

t.test('without Redis nothing here is done uncounted: closed (503)', async (t) => {
  const redis = await startRedis(t)
  const store = redisStore(redis.url, { keyPrefix: 'wpag-test-accounts:', commandTimeoutMs: 300 })
  await store.connect()
  t.teardown(() => store.close())
  const app = await buildTestApp(t, { accounts: { register: { enabled: true } } }, { store })
  await redis.stop()
  const calls: Array<[string, object]> = [
    [FORGOT, { username_or_email: 'editor' }],
    [RESET, { login: 'editor', key: 'x'.repeat(20), password: GOOD() }],
    [REGISTER, { username: name(), email: `${name()}@example.test`, password: GOOD() }]
  ]
  for (const [url, payload] of calls) {
    const res = await post(app, url, payload)
    t.equal(res.statusCode, 503, url)
    t.equal(res.json().code, 'GW_ERR_STORE_UNAVAILABLE', url)
  }
})
