import t from 'tap'
import { createHash } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, login, password, throwawayUser, USERS } from '../helper.js'

// The dashboard's session, without a browser: who may log in, the cookie's
// exact attributes, the CSRF and origin checks on every change, the headers
// of every page, and the admin endpoints the dashboard added (rules, explain,
// API key rotation). test/e2e/dashboard.test.ts drives the page in Chromium.

const API_TOKEN = 'wpag_admin_' + 'd'.repeat(43)
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
// What inject sends as Host, and so the dashboard's own origin.
const ORIGIN = 'http://localhost:80'
const sameOrigin = { origin: ORIGIN, 'sec-fetch-site': 'same-origin' }

async function dashLogin (app: FastifyInstance, body: object, headers: Record<string, string> = sameOrigin) {
  return await app.inject({ method: 'POST', url: '/_gateway/dashboard/login', headers, payload: body })
}

/** Logs in as the administrator: the cookie to send back, and the CSRF token. */
async function loggedIn (app: FastifyInstance, as = { username: 'admin', password: password('admin') }): Promise<{ cookie: string, csrf: string }> {
  const res = await dashLogin(app, as)
  if (res.statusCode !== 200) throw new Error(`dashboard login failed: ${res.statusCode} ${res.body}`)
  const setCookie = String(res.headers['set-cookie'])
  return { cookie: setCookie.split(';')[0]!, csrf: res.json().csrf_token }
}

t.test('pages: a strict CSP, no caching, no sniffing, nothing from elsewhere', async (t) => {
  const app = await buildTestApp(t)
  for (const url of ['/_gateway/dashboard/', '/_gateway/dashboard/app.js', '/_gateway/dashboard/app.css', '/_gateway/dashboard/uPlot.esm.js', '/_gateway/dashboard/uPlot.min.css', '/_gateway/dashboard/session', '/_gateway/dashboard/nothing-here']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.headers['content-security-policy'], CSP, `${url}: CSP`)
    t.equal(res.headers['x-content-type-options'], 'nosniff', url)
    t.equal(res.headers['referrer-policy'], 'no-referrer', url)
    t.equal(res.headers['x-frame-options'], 'DENY', url)
  }
  const page = await app.inject({ method: 'GET', url: '/_gateway/dashboard/' })
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /^text\/html/)
  t.equal(page.headers['cache-control'], 'no-store')
  t.notMatch(page.body, /<script>|<style|\sstyle=|\son[a-z]+=|https?:\/\//i, 'no inline script, style or handler, and no other origin')
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/dashboard/app.js' })).headers['content-type'], 'text/javascript; charset=utf-8')
  const redirect = await app.inject({ method: 'GET', url: '/_gateway/dashboard' })
  t.equal(redirect.statusCode, 302)
  t.equal(redirect.headers.location, '/_gateway/dashboard/')
  const unknown = await app.inject({ method: 'GET', url: '/_gateway/dashboard/../admin/rules' })
  t.not(unknown.statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/dashboard/session' })).json().code, 'GW_ERR_TOKEN_MISSING')

  const off = await buildTestApp(t, { dashboard: { enabled: false } })
  t.equal((await off.inject({ method: 'GET', url: '/_gateway/dashboard/' })).statusCode, 404, 'dashboard.enabled: false serves nothing')
})

t.test('login: administrators only, throttled like every password, same origin only', async (t) => {
  const app = await buildTestApp(t, { admin: { apiTokenHash: await hash(API_TOKEN) } })
  const subscriber = await dashLogin(app, { username: 'subscriber', password: password('subscriber') })
  t.equal(subscriber.statusCode, 403)
  t.equal(subscriber.json().code, 'GW_ERR_FORBIDDEN')
  t.notOk(subscriber.headers['set-cookie'], 'no cookie for a subscriber')
  const editor = await dashLogin(app, { username: 'editor@example.test', password: password('editor') })
  t.equal(editor.json().code, 'GW_ERR_FORBIDDEN', 'nor for an editor')
  const wrong = await dashLogin(app, { username: 'admin', password: 'not-it' })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'GW_ERR_INVALID_CREDENTIALS')

  const cross = await dashLogin(app, { username: 'admin', password: password('admin') }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })
  t.equal(cross.statusCode, 403)
  t.equal(cross.json().code, 'GW_ERR_ORIGIN_REFUSED', 'a page elsewhere cannot log the browser in')
  const sibling = await dashLogin(app, { username: 'admin', password: password('admin') }, { origin: 'http://localhost:8081' })
  t.equal(sibling.json().code, 'GW_ERR_ORIGIN_REFUSED', 'nor a same-site page on another port')
  const bare = await dashLogin(app, { username: 'admin', password: password('admin') }, {})
  t.equal(bare.json().code, 'GW_ERR_ORIGIN_REFUSED', 'a request with neither Origin nor Sec-Fetch-Site is no browser\'s')
  const both = await dashLogin(app, { username: 'admin', password: password('admin'), admin_token: API_TOKEN })
  t.equal(both.json().code, 'GW_ERR_BAD_REQUEST')
  const form = await app.inject({ method: 'POST', url: '/_gateway/dashboard/login', headers: { ...sameOrigin, 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=admin&password=${password('admin')}` })
  t.equal(form.statusCode, 415, 'JSON only: a cross-site form cannot post it without a preflight')

  const ok = await dashLogin(app, { username: 'admin', password: password('admin') })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { actor: `user:${USERS.admin.id}`, user: { id: USERS.admin.id, login: 'admin' }, csrf_token: /^[A-Za-z0-9_-]{43}$/, idle_seconds: 900 })
  t.match(String(ok.headers['set-cookie']), /^wpag_dash=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/_gateway\/; HttpOnly; SameSite=Strict$/, 'plain HTTP: HttpOnly, SameSite=Strict, the gateway\'s paths only, not Secure')

  const token = await dashLogin(app, { admin_token: API_TOKEN })
  t.equal(token.statusCode, 200, 'the admin API token is exchanged for a session')
  t.match(token.json(), { actor: 'admin-api-token', user: null })
  // A new admin API token (a new hash in the config, a restart): the old token's sessions end.
  const replaced = await buildTestApp(t, { admin: { apiTokenHash: await hash('wpag_admin_' + 'e'.repeat(43)) } }, { store: app.store })
  const tokenCookie = String(token.headers['set-cookie']).split(';')[0]!
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie: tokenCookie } })).statusCode, 200)
  t.equal((await replaced.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie: tokenCookie } })).json().code, 'GW_ERR_DASHBOARD_SESSION_ENDED', 'the replaced token\'s session is over')

  const badToken = await dashLogin(app, { admin_token: 'wpag_admin_' + 'x'.repeat(43) })
  t.equal(badToken.statusCode, 403)
  t.equal(badToken.json().code, 'GW_ERR_FORBIDDEN')
})

t.test('over TLS (through a trusted proxy) the cookie is __Secure- and Secure', async (t) => {
  const app = await buildTestApp(t, { server: { trustProxy: true } })
  const res = await dashLogin(app, { username: 'admin', password: password('admin') }, { origin: 'https://localhost:80', 'x-forwarded-proto': 'https' })
  t.equal(res.statusCode, 200, res.body)
  t.match(String(res.headers['set-cookie']), /^__Secure-wpag_dash=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/_gateway\/; HttpOnly; Secure; SameSite=Strict$/)
  const cookie = String(res.headers['set-cookie']).split(';')[0]!
  const https = await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie, 'x-forwarded-proto': 'https' } })
  t.equal(https.statusCode, 200)
  const plain = await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie } })
  t.equal(plain.statusCode, 401, 'the Secure cookie counts only over TLS')
})

t.test('changes with the cookie need the CSRF token and the same origin; bearer credentials need neither', async (t) => {
  // An origin CORS lets in with credentials must still not use the cookie.
  const app = await buildTestApp(t, { admin: { apiTokenHash: await hash(API_TOKEN) }, cors: { origins: ['https://app.example'], credentials: true } })
  const { cookie, csrf } = await loggedIn(app)
  const revoke = (headers: Record<string, string>) => app.inject({ method: 'POST', url: `/_gateway/admin/users/${USERS.contributor.id}/revoke`, headers })

  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie } })).statusCode, 200, 'reading needs the cookie only')
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie, 'sec-fetch-site': 'same-origin' } })).statusCode, 200)
  for (const headers of [{ origin: 'https://app.example', 'sec-fetch-site': 'same-site' }, { origin: 'https://app.example' }, { 'sec-fetch-site': 'cross-site' }]) {
    const read = await app.inject({ method: 'GET', url: '/_gateway/admin/api-keys', headers: { cookie, ...headers } })
    t.equal(read.json().code, 'GW_ERR_ORIGIN_REFUSED', `no reading from another origin either: ${JSON.stringify(headers)}`)
  }
  const session = await app.inject({ method: 'GET', url: '/_gateway/dashboard/session', headers: { cookie, origin: 'https://app.example', 'sec-fetch-site': 'same-site' } })
  t.equal(session.json().code, 'GW_ERR_ORIGIN_REFUSED', 'nor the CSRF token')
  const noToken = await revoke({ cookie, ...sameOrigin })
  t.equal(noToken.statusCode, 403)
  t.equal(noToken.json().code, 'GW_ERR_CSRF_TOKEN_INVALID')
  t.equal((await revoke({ cookie, ...sameOrigin, 'x-csrf-token': csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A') })).json().code, 'GW_ERR_CSRF_TOKEN_INVALID', 'a wrong token')
  const other = await loggedIn(app)
  t.equal((await revoke({ cookie, ...sameOrigin, 'x-csrf-token': other.csrf })).json().code, 'GW_ERR_CSRF_TOKEN_INVALID', 'another session\'s token')
  t.equal((await revoke({ cookie, origin: 'https://evil.example', 'x-csrf-token': csrf })).json().code, 'GW_ERR_ORIGIN_REFUSED', 'cross-origin, even with the token')
  t.equal((await revoke({ cookie, 'sec-fetch-site': 'same-site', 'x-csrf-token': csrf })).json().code, 'GW_ERR_ORIGIN_REFUSED', 'same-site is not same-origin')
  t.equal((await revoke({ cookie, 'x-csrf-token': csrf })).json().code, 'GW_ERR_ORIGIN_REFUSED', 'neither Origin nor Sec-Fetch-Site')
  const key = await app.inject({ method: 'POST', url: '/_gateway/admin/api-keys', headers: { cookie, ...sameOrigin }, payload: { user_id: USERS.editor.id, name: 'csrf test' } })
  t.equal(key.json().code, 'GW_ERR_CSRF_TOKEN_INVALID', 'the API key routes take the same guard')
  const ok = await revoke({ cookie, ...sameOrigin, 'x-csrf-token': csrf })
  t.equal(ok.statusCode, 200, ok.body)

  t.equal((await revoke({ authorization: `Bearer ${API_TOKEN}` })).statusCode, 200, 'the admin API token needs no CSRF token')
  t.equal((await revoke({ authorization: `Bearer ${await login(app, 'admin')}`, cookie: 'wpag_dash=whatever' })).statusCode, 200, 'nor an administrator\'s access token')
  const subscriberWithCookie = await revoke({ authorization: `Bearer ${await login(app, 'subscriber')}`, cookie, ...sameOrigin, 'x-csrf-token': csrf })
  t.equal(subscriberWithCookie.json().code, 'GW_ERR_FORBIDDEN', 'a credential header decides, whatever cookie comes with it')

  const bogus = await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie: 'wpag_dash=' + 'A'.repeat(43) } })
  t.equal(bogus.statusCode, 401)
  t.equal(bogus.json().code, 'GW_ERR_DASHBOARD_SESSION_ENDED')

  const out = await app.inject({ method: 'POST', url: '/_gateway/dashboard/logout', headers: { cookie, ...sameOrigin, 'x-csrf-token': csrf } })
  t.equal(out.statusCode, 204)
  t.match(String(out.headers['set-cookie']), /^wpag_dash=; Path=\/_gateway\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/)
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie } })).json().code, 'GW_ERR_DASHBOARD_SESSION_ENDED', 'logged out')
})

t.test('a dashboard session ends when its user is logged out everywhere, is no administrator any more, or at its maximum age', async (t) => {
  const app = await buildTestApp(t)
  const user = await throwawayUser(t, app, 'administrator')
  const { cookie } = await loggedIn(app, { username: user.login, password: user.password })
  const rules = () => app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie } })
  t.equal((await rules()).statusCode, 200)
  const admin = await login(app, 'admin')
  const everywhere = await app.inject({ method: 'POST', url: `/_gateway/admin/users/${user.id}/revoke`, headers: { authorization: `Bearer ${admin}` } })
  t.equal(everywhere.statusCode, 200)
  t.equal((await rules()).json().code, 'GW_ERR_DASHBOARD_SESSION_ENDED', 'logged out everywhere: the dashboard too')

  // Demoted in WordPress: the next look at WordPress (at most a minute later) ends the session.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const again = await loggedIn(app, { username: user.login, password: user.password })
  const demote = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: { authorization: `Bearer ${admin}` }, payload: { roles: ['editor'] } })
  t.equal(demote.statusCode, 200, demote.body)
  // As if WordPress was last asked two minutes ago (the store keeps the id's SHA-256, src/dashboard/sessions.ts).
  const key = `dash:${createHash('sha256').update(again.cookie.split('=')[1]!).digest('base64url')}`
  const record = JSON.parse((await app.store.get(key))!)
  await app.store.set(key, JSON.stringify({ ...record, verifiedAt: record.verifiedAt - 120_000 }), 60_000)
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie: again.cookie } })).json().code, 'GW_ERR_DASHBOARD_SESSION_ENDED', 'an editor now')

  // Past dashboard.maxSeconds (8 hours), however busy.
  const admin8h = await loggedIn(app)
  const key8h = `dash:${createHash('sha256').update(admin8h.cookie.split('=')[1]!).digest('base64url')}`
  const old = JSON.parse((await app.store.get(key8h))!)
  await app.store.set(key8h, JSON.stringify({ ...old, createdAt: old.createdAt - 28_800_000 }), 60_000)
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { cookie: admin8h.cookie } })).json().code, 'GW_ERR_DASHBOARD_SESSION_ENDED', 'past its maximum age')
  t.equal(await app.store.get(key8h), null, 'and gone from the store')
})

t.test('GET /_gateway/admin/rules: the rules in the order the policy tries them, and the default', async (t) => {
  const app = await buildTestApp(t, { policy: { mode: 'protect-core', index: 'open', rules: [{ route: '/wp/v2/settings*', access: 'deny' }, { route: '/wc/v3*', access: 'authenticated', roles: ['shop_manager'], rateLimit: { max: 10, windowSeconds: 60 } }] } })
  const res = await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { authorization: `Bearer ${await login(app, 'admin')}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store')
  t.same(res.json(), {
    mode: 'protect-core',
    rules: [
      { index: 0, source: 'config', rule: { route: '/wp/v2/settings*', access: 'deny' } },
      { index: 1, source: 'config', rule: { route: '/wc/v3*', access: 'authenticated', roles: ['shop_manager'], rateLimit: { max: 10, windowSeconds: 60, by: 'ip' } } },
      { index: 2, source: 'mode', rule: { route: '/', methods: ['GET'], access: 'public' } },
      { index: 3, source: 'mode', rule: { route: '/wp/v2*', access: 'authenticated' } }
    ],
    default: 'public'
  })
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/rules', headers: { authorization: `Bearer ${await login(app, 'editor')}` } })).json().code, 'GW_ERR_FORBIDDEN')
})

t.test('POST /_gateway/admin/explain: the real stages, not forwarded', async (t) => {
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'apikey', 'basic', 'cookie'], basic: { requireTls: false } }, policy: { rules: [{ route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }, { route: '/wp/v2/settings*', access: 'deny' }, { route: '/wp/v2/users*', access: 'authenticated', roles: ['administrator', 'editor'] }] } })
  const admin = { authorization: `Bearer ${await login(app, 'admin')}` }
  const explain = (body: object) => app.inject({ method: 'POST', url: '/_gateway/admin/explain', headers: admin, payload: body })
  const editor = `Bearer ${await login(app, 'editor')}`

  const anonymous = (await explain({ method: 'GET', path: '/wp-json/wp/v2/users/me' })).json()
  t.match(anonymous, { result: 'refused', status: 401, code: 'GW_ERR_TOKEN_MISSING', kind: 'rest', route: '/wp/v2/users/me', effective_method: 'GET', rule: { index: 2, source: 'config', route: '/wp/v2/users*', access: 'authenticated' }, identity: null })
  const asEditor = (await explain({ method: 'GET', path: '/wp-json/wp/v2/users/me', authorization: editor })).json()
  t.match(asEditor, { result: 'allowed', status: 200, code: null, rule: { index: 2 }, identity: { user_id: USERS.editor.id, login: 'editor', roles: ['editor'], via: 'jwt' } })
  const subscriber = (await explain({ method: 'GET', path: '/?rest_route=/wp/v2/users', authorization: `Bearer ${await login(app, 'subscriber')}` })).json()
  t.match(subscriber, { result: 'refused', status: 403, code: 'GW_ERR_ROLE_FORBIDDEN', route: '/wp/v2/users', identity: { login: 'subscriber' } }, 'an alias resolves as the pipeline resolves it')
  t.match((await explain({ method: 'POST', path: '/wp-json/wp/v2/settings' })).json(), { code: 'GW_ERR_ROUTE_DISABLED', rule: { index: 1, access: 'deny' } })
  t.match((await explain({ method: 'GET', path: '/wp-json/wp/v2/posts?per_page=1' })).json(), { result: 'allowed', rule: { index: 0, access: 'public' } })
  t.match((await explain({ method: 'GET', path: '/wp-json/wp/v2/tags' })).json(), { code: 'GW_ERR_TOKEN_MISSING', rule: { index: null, source: 'default', access: 'authenticated' } })
  t.match((await explain({ method: 'GET', path: '/wp-json/wp/v2/users', authorization: 'Bearer not-a-token' })).json(), { code: 'GW_ERR_TOKEN_MALFORMED', identity: null })
  t.match((await explain({ method: 'GET', path: '/wp-json/wp/v2/users', authorization: `Basic ${Buffer.from(`editor:${password('editor')}`).toString('base64')}` })).json(), { result: 'allowed', identity: { via: 'basic', login: 'editor' } })
  t.match((await explain({ method: 'GET', path: '/.//wp-json/wp/v2/users' })).json(), { code: 'GW_ERR_ROUTE_AMBIGUOUS', kind: null })
  t.match((await explain({ method: 'GET', path: '/wp-login.php' })).json(), { result: 'allowed', kind: 'site', rule: null })
  for (const path of ['/wp-json/api/v1/token', '/_gateway/admin/users/2/sessions?x=1', '/_gateway/dashboard/']) {
    t.match((await explain({ method: path.includes('token') ? 'POST' : 'GET', path })).json(), { result: 'gateway', kind: 'gateway', rule: null }, `${path}: the gateway's own`)
  }
  t.match((await explain({ method: 'GET', path: '/?rest_route=/api/v1/token' })).json(), { result: 'refused', code: 'GW_ERR_ROUTE_NOT_FOUND' }, 'under an alias: the 404 it gets')
  t.equal((await explain({ method: 'TRACE', path: '/' })).statusCode, 400)
  t.equal((await explain({ method: 'GET', path: '/', extra: 1 })).statusCode, 400)
  t.equal((await app.inject({ method: 'POST', url: '/_gateway/admin/explain', headers: { authorization: editor }, payload: { method: 'GET', path: '/' } })).json().code, 'GW_ERR_FORBIDDEN')
})

t.test('API key rotation: a new key in the old one\'s place, shown once', async (t) => {
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'apikey'] } })
  const admin = { authorization: `Bearer ${await login(app, 'admin')}` }
  const made = (await app.inject({ method: 'POST', url: '/_gateway/admin/api-keys', headers: admin, payload: { user_id: USERS.editor.id, name: 'to rotate', scopes: [], expires_in: 3600 } })).json()
  const rotated = await app.inject({ method: 'POST', url: `/_gateway/admin/api-keys/${made.id}/rotate`, headers: admin })
  t.equal(rotated.statusCode, 200, rotated.body)
  const r = rotated.json()
  t.match(r, { key: /^wpgk_/, name: 'to rotate', user_id: USERS.editor.id, replaces: made.id })
  t.ok(Math.abs(Date.parse(r.expires_at) - Date.parse(made.expires_at)) < 2000, 'the same expiry')
  const me = (key: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${key}` } })
  t.equal((await me(r.key)).statusCode, 200, 'the new key works')
  t.equal((await me(made.key)).json().code, 'GW_ERR_API_KEY_INVALID', 'the old one does not')
  t.equal((await app.inject({ method: 'POST', url: `/_gateway/admin/api-keys/${made.id}/rotate`, headers: admin })).json().code, 'GW_ERR_API_KEY_NOT_FOUND')
  await app.inject({ method: 'DELETE', url: `/_gateway/admin/api-keys/${r.id}`, headers: admin })
})
