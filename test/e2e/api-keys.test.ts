import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, EVENTS_PORT, login, password, redisStore, startRedis, startUpstream, throwawayUser, USERS, WP_DIR, WP_URL, type Login } from '../helper.js'

// API keys against the real WordPress and Redis: who may make them, what they
// may do (WordPress's capabilities still decide), what refuses them, and what
// ends them.

const CONFIG = {
  auth: { methods: ['jwt', 'apikey', 'cookie'] },
  policy: {
    rules: [
      { route: '/wp/v2/categories*', methods: ['GET'], access: 'authenticated', scopes: ['terms:read'] },
      { route: '/wp/v2/tags*', methods: ['GET'], access: 'authenticated', scopes: ['tags:read'] }
    ]
  }
}
const ADMIN_KEYS = '/_gateway/admin/api-keys'
const OWN_KEYS = '/wp-json/api/v1/api-keys'
const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` })

interface Created { id: string, key: string, name: string, user_id: number, scopes: string[], expires_at: string | null, created_at: string }

async function adminKey (app: FastifyInstance, body: object): Promise<Created> {
  const res = await app.inject({ method: 'POST', url: ADMIN_KEYS, headers: bearer(await login(app, 'admin')), payload: body })
  if (res.statusCode !== 201) throw new Error(`making a key failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

async function ownKey (app: FastifyInstance, user: Login, body: object = { name: `${user}'s key` }): Promise<Created> {
  const res = await app.inject({ method: 'POST', url: OWN_KEYS, headers: bearer(await login(app, user)), payload: body })
  if (res.statusCode !== 201) throw new Error(`making a key failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

const me = (app: FastifyInstance, key: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(key) })

/** Creates a draft with the key; returns the status, and deletes what was made. */
async function createPost (t: Test, app: FastifyInstance, key: string): Promise<number> {
  const res = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: bearer(key), payload: { title: 'made with an API key', status: 'draft' } })
  if (res.statusCode === 201) {
    const id = res.json().id as number
    t.teardown(async () => { await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/posts/${id}?force=true`, headers: bearer(await login(app, 'admin')) }) })
  }
  return res.statusCode
}

t.test('an administrator makes a universal key for a service user; it acts as that user in WordPress', async (t) => {
  const logs: string[] = []
  // The decision lines are at debug by default; this test reads them at info.
  const app = await buildTestApp(t, { ...CONFIG, audit: { logLevel: 'info' } }, { logs })
  const service = await throwawayUser(t, app, 'editor')
  const made = await adminKey(app, { user_id: service.id, name: 'CI deploy bot' })
  t.match(made, { id: /^[0-9a-f]{24}$/, key: new RegExp(`^wpgk_${made.id}_[A-Za-z0-9_-]{43}$`), name: 'CI deploy bot', user_id: service.id, scopes: [], expires_at: null, created_at: /^\d{4}-\d\d-\d\dT/ })

  const res = await me(app, made.key)
  t.equal(res.statusCode, 200)
  t.equal(res.json().id, service.id, 'WordPress sees the service user')
  t.equal(await createPost(t, app, made.key), 201, 'an editor\'s key creates a post')

  const validated = await app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate', headers: bearer(made.key) })
  t.match(validated.json(), { valid: true, user: { id: service.id, login: service.login, roles: ['editor'] } })

  const list = await app.inject({ method: 'GET', url: `${ADMIN_KEYS}?user_id=${service.id}`, headers: bearer(await login(app, 'admin')) })
  t.equal(list.statusCode, 200)
  const [listed, ...others] = list.json().api_keys
  t.same(others, [])
  t.match(listed, { id: made.id, name: 'CI deploy bot', user_id: service.id, kind: 'universal', scopes: [], expires_at: null, last_used_ip: '127.0.0.1', last_used_at: /^\d{4}-/ })
  t.notOk('key' in listed, 'the key itself is never listed')
  t.notOk(JSON.stringify(list.json()).includes(made.key.slice(30)), 'nor its secret in any form')
  const all = await app.inject({ method: 'GET', url: ADMIN_KEYS, headers: bearer(await login(app, 'admin')) })
  t.ok(all.json().api_keys.some((k: { id: string }) => k.id === made.id), 'without user_id: every key')

  // After a flush the last use is read back from the store, by a replica that never saw it.
  await app.apiKeys.lastUse.flush()
  const other = await buildTestApp(t, CONFIG, { store: app.store })
  const [fromStore] = await other.apiKeys.list(service.id)
  t.match(fromStore?.lastUse, { ip: '127.0.0.1', at: Number })
  t.equal((await other.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(made.key), remoteAddress: '127.0.0.7' })).statusCode, 200)
  t.equal((await me(app, made.key)).statusCode, 200, 'used here too, earlier than…')
  await new Promise((resolve) => setTimeout(resolve, 5))
  t.equal((await other.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(made.key), remoteAddress: '127.0.0.7' })).statusCode, 200, '…the last use, on the other replica')
  await other.close()
  const [afterClose] = await app.apiKeys.list(service.id)
  t.equal(afterClose?.lastUse?.ip, '127.0.0.7', 'a replica writes its last uses when it closes, and the later use wins over this one\'s unwritten one')

  const decision = logs.map((l) => JSON.parse(l)).filter((l) => l.decision?.route === '/wp/v2/users/me').pop()?.decision
  t.match(decision, { result: 'allowed', via: 'apikey', user: service.id, key: made.id }, 'the audit line names the key')
  const audit = logs.map((l) => JSON.parse(l)).filter((l) => l.audit?.action?.startsWith('apikey.')).map((l) => l.audit)
  t.match(audit, [
    { action: 'apikey.create', actor: `user:${USERS.admin.id}`, target: `user:${service.id}`, key: made.id },
    { action: 'apikey.list', target: `user:${service.id}` },
    { action: 'apikey.list', target: 'all' }
  ])
  t.notOk(logs.join('\n').includes(made.key.slice(30)), 'the secret never reaches the log')
})

t.test('users make keys for themselves; WordPress\'s capabilities still decide what they may do', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  const author = await ownKey(app, 'author')
  const subscriber = await ownKey(app, 'subscriber')
  const editor = await ownKey(app, 'editor')
  t.equal(author.user_id, USERS.author.id)
  t.equal((await me(app, subscriber.key)).json().id, USERS.subscriber.id)
  t.equal(await createPost(t, app, author.key), 201, 'an author\'s key creates a post')
  t.equal(await createPost(t, app, editor.key), 201, 'an editor\'s key creates a post')
  t.equal(await createPost(t, app, subscriber.key), 403, 'a subscriber\'s key cannot: WordPress refuses')

  const own = await app.inject({ method: 'GET', url: OWN_KEYS, headers: bearer(await login(app, 'author')) })
  t.same(own.json().api_keys.map((k: { id: string }) => k.id), [author.id], 'the caller\'s keys only')
  for (const url of ['/?rest_route=/api/v1/api-keys', '/index.php/wp-json/api/v1/api-keys', '/wp-json/api/v1/api-keys/']) {
    const aliased = await app.inject({ method: 'GET', url, headers: bearer(await login(app, 'author')) })
    t.equal(aliased.statusCode, 404, `only at its own path, never forwarded: ${url}`)
    t.equal(aliased.json().code, 'GW_ERR_ROUTE_NOT_FOUND', url)
  }
  t.equal(own.json().api_keys[0].kind, 'personal')

  const refused: Array<[string, Record<string, string>, number, string]> = [
    ['no credentials', {}, 401, 'GW_ERR_TOKEN_MISSING'],
    ['an API key', bearer(author.key), 403, 'GW_ERR_AUTH_METHOD_REFUSED'],
    ['a bad API key', bearer(author.key.slice(0, -2) + 'xx'), 401, 'GW_ERR_API_KEY_INVALID']
  ]
  for (const [name, headers, status, code] of refused) {
    for (const [method, url] of [['GET', OWN_KEYS], ['POST', OWN_KEYS], ['DELETE', `${OWN_KEYS}/${author.id}`]] as const) {
      const res = await app.inject({ method, url, headers, ...(method === 'POST' ? { payload: { name: 'more' } } : {}) })
      t.equal(res.statusCode, status, `${name}: ${method}`)
      t.equal(res.json().code, code, `${name}: ${method}`)
    }
  }
  t.equal((await app.apiKeys.list(USERS.author.id)).length, 1, 'a key cannot mint more keys, nor delete itself')
  t.equal((await me(app, author.key)).statusCode, 200)
})

t.test('refused keys: malformed, unknown, wrong secret, expired, deleted; never reaching WordPress', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, CONFIG, { env: { WORDPRESS_URL: upstream.url } })
  const user = { id: 3, login: 'author', email: 'author@example.test', display_name: 'author', roles: ['author'] }
  const make = async (expiresInSeconds?: number) => await app.apiKeys.create({ user, kind: 'personal', name: 'k', scopes: [], expiresInSeconds, createdBy: 'user:3' })
  const { key, record } = await make()
  const short = await make(1)
  const [, id, secret] = /^wpgk_([0-9a-f]{24})_(.+)$/.exec(key)!
  const cases: Array<[string, string, string]> = [
    ['wrong secret', `wpgk_${id}_${'A'.repeat(43)}`, 'GW_ERR_API_KEY_INVALID'],
    ['unknown id', `wpgk_${'0'.repeat(24)}_${secret}`, 'GW_ERR_API_KEY_INVALID'],
    ['secret one character short', key.slice(0, -1), 'GW_ERR_API_KEY_INVALID'],
    ['upper-case id', `wpgk_${id!.toUpperCase()}_${secret}`, 'GW_ERR_API_KEY_INVALID'],
    ['no secret', `wpgk_${id}`, 'GW_ERR_API_KEY_INVALID'],
    ['just the prefix', 'wpgk_', 'GW_ERR_API_KEY_INVALID'],
    ['trailing junk', `${key}.x`, 'GW_ERR_API_KEY_INVALID']
  ]
  for (const [name, value, code] of cases) {
    const res = await me(app, value)
    t.equal(res.statusCode, 401, name)
    t.equal(res.json().code, code, name)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="wp-auth-gateway", error="invalid_token"', name)
  }
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const expired = await me(app, short.key)
  t.equal(expired.statusCode, 401)
  t.equal(expired.json().code, 'GW_ERR_API_KEY_EXPIRED')
  t.match(expired.headers['www-authenticate'], /error="invalid_token"/, 'RFC 6750 §3.1: the client should get a new key')

  t.equal((await me(app, key)).statusCode, 200, 'the real key works')
  // A stored record that does not read as a key (a bad write, a tampered store) is no key at all.
  await app.store.putRecord('apikeys', record.id, JSON.stringify({ ...record, roles: 'administrator' }))
  let res = await me(app, key)
  for (let i = 0; i < 50 && res.statusCode === 200; i++) res = await me(app, key)
  t.equal(res.json().code, 'GW_ERR_API_KEY_INVALID', 'a record that does not parse is absent')
  await app.apiKeys.catalog.put(record.id, record)
  t.equal((await me(app, key)).statusCode, 200, 'and the key is back with its record')
  const before = upstream.requests.length
  t.ok(await app.apiKeys.remove(record.id))
  t.equal((await me(app, key)).json().code, 'GW_ERR_API_KEY_INVALID', 'a deleted key is refused like an unknown one')
  t.equal(upstream.requests.length, before, 'and never reaches WordPress')
  t.ok(upstream.requests.every((r) => r.url === '/wp-json/wp/v2/users/me' && r.headers.authorization === undefined), 'only good keys reached WordPress, without the key')
})

t.test('deleting keys: the administrator any, a user only their own', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  const author = await ownKey(app, 'author')
  const editor = await ownKey(app, 'editor')
  const editorToken = await login(app, 'editor')
  const del = (url: string, token: string) => app.inject({ method: 'DELETE', url, headers: bearer(token) })

  const foreign = await del(`${OWN_KEYS}/${author.id}`, editorToken)
  const unknown = await del(`${OWN_KEYS}/${'f'.repeat(24)}`, editorToken)
  t.equal(foreign.statusCode, 404)
  t.same(foreign.json(), unknown.json(), 'another user\'s key answers exactly as an unknown one')
  t.equal(foreign.json().code, 'GW_ERR_API_KEY_NOT_FOUND')
  t.equal((await del(`${OWN_KEYS}/not-a-key`, editorToken)).statusCode, 404)
  t.equal((await me(app, author.key)).statusCode, 200, 'the author\'s key still works')

  t.equal((await del(`${OWN_KEYS}/${editor.id}`, editorToken)).statusCode, 204)
  t.equal((await me(app, editor.key)).json().code, 'GW_ERR_API_KEY_INVALID')
  t.equal((await del(`${OWN_KEYS}/${editor.id}`, editorToken)).statusCode, 404, 'gone')

  const admin = await login(app, 'admin')
  t.equal((await del(`${ADMIN_KEYS}/${author.id}`, admin)).statusCode, 204)
  t.equal((await me(app, author.key)).json().code, 'GW_ERR_API_KEY_INVALID')
  const again = await del(`${ADMIN_KEYS}/${author.id}`, admin)
  t.equal(again.statusCode, 404)
  t.equal(again.json().code, 'GW_ERR_API_KEY_NOT_FOUND')
  t.equal((await del(`${ADMIN_KEYS}/${(await ownKey(app, 'author')).id}`, editorToken)).json().code, 'GW_ERR_FORBIDDEN', 'admin routes need an administrator')
})

t.test('a key with scopes reaches only routes whose rule names them', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  const narrow = await ownKey(app, 'editor', { name: 'terms reader', scopes: ['terms:read'] })
  t.same(narrow.scopes, ['terms:read'])
  const get = (url: string, key: string) => app.inject({ method: 'GET', url, headers: bearer(key) })
  t.equal((await get('/wp-json/wp/v2/categories', narrow.key)).statusCode, 200, 'the named scope opens its route')
  const tags = await get('/wp-json/wp/v2/tags', narrow.key)
  t.equal(tags.statusCode, 403, 'a route needing another scope')
  t.equal(tags.json().code, 'GW_ERR_INSUFFICIENT_SCOPE')
  t.equal((await get('/wp-json/wp/v2/users/me', narrow.key)).json().code, 'GW_ERR_INSUFFICIENT_SCOPE', 'a route naming no scopes')
  t.equal(await createPost(t, app, narrow.key), 403, 'an editor\'s narrowed key cannot create posts')
  const scoped = await app.inject({ method: 'GET', url: OWN_KEYS, headers: bearer(narrow.key) })
  t.equal(scoped.json().code, 'GW_ERR_AUTH_METHOD_REFUSED')
  const full = await ownKey(app, 'editor')
  t.equal((await get('/wp-json/wp/v2/users/me', full.key)).statusCode, 200, 'a key without scopes is the user')
  t.equal((await get('/wp-json/wp/v2/tags', full.key)).json().code, 'GW_ERR_INSUFFICIENT_SCOPE', 'and has none')
})

t.test('changes to the user in WordPress: deletion and a new password end keys, new roles carry over', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  await app.listen({ port: EVENTS_PORT, host: '127.0.0.1' })
  const asAdmin = async () => bearer(await login(app, 'admin'))
  const keysOf = async (id: number) => (await app.inject({ method: 'GET', url: `${ADMIN_KEYS}?user_id=${id}`, headers: await asAdmin() })).json().api_keys as unknown[]

  const doomed = await throwawayUser(t, app, 'author')
  const doomedKey = await adminKey(app, { user_id: doomed.id, name: 'doomed' })
  t.equal((await me(app, doomedKey.key)).statusCode, 200)
  const deleted = await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${doomed.id}?force=true&reassign=1`, headers: await asAdmin() })
  t.equal(deleted.statusCode, 200)
  t.equal((await me(app, doomedKey.key)).json().code, 'GW_ERR_API_KEY_INVALID', 'a deleted user\'s key is refused')
  t.same(await keysOf(doomed.id), [], 'and gone from the listing')

  const changing = await throwawayUser(t, app, 'author')
  const first = await adminKey(app, { user_id: changing.id, name: 'one' })
  const second = await adminKey(app, { user_id: changing.id, name: 'two' })
  const bystander = await ownKey(app, 'editor')
  const res = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${changing.id}`, headers: await asAdmin(), payload: { password: 'a-brand-new-password-1' } })
  t.equal(res.statusCode, 200)
  for (const k of [first, second]) t.equal((await me(app, k.key)).json().code, 'GW_ERR_API_KEY_INVALID', 'a new password ends every key of the user')
  t.same(await keysOf(changing.id), [])
  t.equal((await me(app, bystander.key)).statusCode, 200, 'other users\' keys are untouched')

  const promoted = await throwawayUser(t, app, 'author')
  const kept = await adminKey(app, { user_id: promoted.id, name: 'kept' })
  t.equal(await createPost(t, app, kept.key), 201, 'as author: creates posts')
  const demoted = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${promoted.id}`, headers: await asAdmin(), payload: { roles: ['subscriber'] } })
  t.equal(demoted.statusCode, 200)
  const validated = await app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate', headers: bearer(kept.key) })
  t.equal(validated.statusCode, 200, 'a role change keeps the key')
  t.same(validated.json().user.roles, ['subscriber'], 'with the new roles')
  t.equal(await createPost(t, app, kept.key), 403, 'as subscriber: WordPress refuses')
  t.equal((await keysOf(promoted.id)).length, 1)

  // A logout from WordPress (the bridge's event; asynchronous, as the gateway answering it runs in this process).
  await promisify(execFile)('php', ['-r', `require '${join(WP_DIR, 'load.php')}'; wp_set_current_user(${promoted.id}); wp_logout();`])
  t.equal((await me(app, kept.key)).statusCode, 200, 'a logout from WordPress keeps the key')

  // Whatever cuts the user off refuses the key at once, on every replica, even before its record is touched.
  await app.sessions.revokeUser(promoted.id)
  t.equal((await me(app, kept.key)).json().code, 'GW_ERR_API_KEY_REVOKED')
  // Here no follow-up came (as when WordPress or the store failed at that moment): the sweep deletes the key a minute on.
  await app.apiKeyFollowUp.sweep()
  t.equal((await keysOf(promoted.id)).length, 1, 'not before the follow-up has had its minute')
  const fresh = await adminKey(app, { user_id: promoted.id, name: 'made after the cut-off' })
  await app.apiKeyFollowUp.sweep(Date.now() + 61_000)
  t.same((await keysOf(promoted.id) as Array<{ id: string }>).map((k) => k.id), [fresh.id], 'a minute on, the cut-off key is deleted; one verified after the cut-off stays')
  t.equal((await me(app, kept.key)).json().code, 'GW_ERR_API_KEY_INVALID')
  t.equal((await me(app, fresh.key)).statusCode, 200)

  const everywhere = await adminKey(app, { user_id: USERS.contributor.id, name: 'contributor bot' })
  const revoked = await app.inject({ method: 'POST', url: `/_gateway/admin/users/${USERS.contributor.id}/revoke`, headers: await asAdmin() })
  t.equal(revoked.statusCode, 200)
  t.equal((await me(app, everywhere.key)).json().code, 'GW_ERR_API_KEY_INVALID', '"log out everywhere" ends the user\'s keys too')
  t.same(await keysOf(USERS.contributor.id), [])
})

t.test('bad keys are throttled: 429 with Retry-After, then no verification at all', async (t) => {
  const app = await buildTestApp(t, { ...CONFIG, auth: { ...CONFIG.auth, throttle: { ip: { attempts: 3, seconds: 60 } } } })
  const good = await ownKey(app, 'author')
  const bad = good.key.slice(0, -4) + 'AAAA'
  for (let i = 1; i <= 2; i++) t.equal((await me(app, bad)).json().code, 'GW_ERR_API_KEY_INVALID', `failure ${i}`)
  const third = await me(app, bad)
  t.equal(third.statusCode, 429, 'the failure that reaches the limit')
  const after = await me(app, bad)
  t.equal(after.statusCode, 429)
  t.equal(after.json().code, 'GW_ERR_TOO_MANY_ATTEMPTS')
  t.ok(Number(after.headers['retry-after']) > 0 && Number(after.headers['retry-after']) <= 60, `Retry-After: ${after.headers['retry-after']}`)
  t.equal((await me(app, good.key)).statusCode, 429, 'the refused address is turned away before any key is checked')
  const other = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(good.key), remoteAddress: '127.0.0.9' })
  t.equal(other.statusCode, 200, 'other addresses are not')
})

t.test('bad input: refused with a clear code, and nothing is made', async (t) => {
  const app = await buildTestApp(t, { ...CONFIG, auth: { ...CONFIG.auth, apiKeys: { maxPerUser: 2, maxLifetimeSeconds: 3600 } } })
  const admin = bearer(await login(app, 'admin'))
  const author = bearer(await login(app, 'author'))
  const post = (url: string, headers: Record<string, string>, payload: unknown) => app.inject({ method: 'POST', url, headers, payload: payload as string })
  const bad: Array<[string, unknown]> = [
    ['no name', {}],
    ['empty name', { name: '' }],
    ['blank name', { name: '   ' }],
    ['name over 100 characters', { name: 'x'.repeat(101) }],
    ['a newline in the name', { name: 'a\nfake log line' }],
    ['a bidi override in the name', { name: 'abc\u202Edef' }],
    ['name not a string', { name: ['x'] }],
    ['unknown field', { name: 'x', roles: ['administrator'] }],
    ['scope with a space', { name: 'x', scopes: ['a b'] }],
    ['empty scope', { name: 'x', scopes: [''] }],
    ['scope repeated', { name: 'x', scopes: ['a', 'a'] }],
    ['33 scopes', { name: 'x', scopes: Array.from({ length: 33 }, (_, i) => `s${i}`) }],
    ['expires_in zero', { name: 'x', expires_in: 0 }],
    ['expires_in a string', { name: 'x', expires_in: '60' }],
    ['expires_in a fraction', { name: 'x', expires_in: 1.5 }],
    ['expires_in over the maximum', { name: 'x', expires_in: 3601 }],
    ['user_id on the self-service route', { name: 'x', user_id: 1 }]
  ]
  for (const [name, body] of bad) {
    const res = await post(OWN_KEYS, author, body)
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'GW_ERR_BAD_REQUEST', name)
  }
  const notJson = await app.inject({ method: 'POST', url: OWN_KEYS, headers: { ...author, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'name=x' })
  t.equal(notJson.statusCode, 415)
  const huge = await post(OWN_KEYS, author, { name: 'x', pad: 'y'.repeat(20_000) })
  t.equal(huge.statusCode, 413)
  for (const [name, body, status, code] of [
    ['user_id as a string', { user_id: '3', name: 'x' }, 400, 'GW_ERR_BAD_REQUEST'],
    ['user_id zero', { user_id: 0, name: 'x' }, 400, 'GW_ERR_BAD_REQUEST'],
    ['no user_id', { name: 'x' }, 400, 'GW_ERR_BAD_REQUEST'],
    ['an unknown user', { user_id: 999999, name: 'x' }, 404, 'GW_ERR_USER_NOT_FOUND']
  ] as const) {
    const res = await post(ADMIN_KEYS, admin, body)
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, code, name)
  }
  for (const query of ['user_id=abc', 'user_id=0', 'user_id=1&user_id=2', 'other=1']) {
    t.equal((await app.inject({ method: 'GET', url: `${ADMIN_KEYS}?${query}`, headers: admin })).statusCode, 400, query)
  }
  t.same(await app.apiKeys.list(), [], 'nothing was made')

  const capped = await post(OWN_KEYS, author, { name: 'capped' })
  t.equal(capped.statusCode, 201)
  const lifetime = Date.parse(capped.json().expires_at) - Date.parse(capped.json().created_at)
  t.equal(lifetime, 3600_000, 'without expires_in, a key lives the longest allowed')
  t.equal((await post(OWN_KEYS, author, { name: 'second', expires_in: 60 })).statusCode, 201)
  const third = await post(OWN_KEYS, author, { name: 'third' })
  t.equal(third.statusCode, 409)
  t.equal(third.json().code, 'GW_ERR_API_KEY_LIMIT_REACHED')
  t.equal((await post(OWN_KEYS, bearer(await login(app, 'editor')), { name: 'editor\'s' })).statusCode, 201, 'the limit is per user')
})

t.test('a user makes a key from wp-admin with the login cookie and nonce', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  const host = new URL(WP_URL).host
  const loggedIn = await app.inject({
    method: 'POST',
    url: '/wp-login.php',
    headers: { host, 'content-type': 'application/x-www-form-urlencoded', cookie: 'wordpress_test_cookie=WP%20Cookie%20check' },
    payload: `log=author&pwd=${password('author')}&testcookie=1&redirect_to=%2Fwp-admin%2F`
  })
  t.equal(loggedIn.statusCode, 302)
  const cookie = ([] as string[]).concat(loggedIn.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).filter((c) => /^wordpress_/.test(c!)).join('; ')
  const nonce = (await app.inject({ method: 'GET', url: '/wp-admin/admin-ajax.php?action=rest-nonce', headers: { host, cookie } })).body
  const made = await app.inject({ method: 'POST', url: OWN_KEYS, headers: { host, cookie, 'x-wp-nonce': nonce }, payload: { name: 'from wp-admin' } })
  t.equal(made.statusCode, 201)
  t.equal(made.json().user_id, USERS.author.id)
  t.equal((await me(app, made.json().key)).json().id, USERS.author.id)
  const withoutNonce = await app.inject({ method: 'POST', url: OWN_KEYS, headers: { host, cookie }, payload: { name: 'forged from another site' } })
  t.equal(withoutNonce.statusCode, 401, 'the cookie alone (a cross-site request) makes nothing')
  t.equal((await app.apiKeys.list(USERS.author.id)).length, 1)
})

t.test('when Redis is gone keys fail closed, and work again once it is back', async (t) => {
  // Persisted, as production Redis should be: a Redis that comes back empty has lost the keys themselves.
  const redis = await startRedis(t, { persist: true })
  const store = redisStore(redis.url, { commandTimeoutMs: 300 })
  await store.connect()
  t.teardown(async () => { await store.close() })
  const app = await buildTestApp(t, CONFIG, { store })
  const { key } = await ownKey(app, 'editor')
  t.equal((await me(app, key)).statusCode, 200)
  await redis.stop()
  let res = await me(app, key)
  for (let i = 0; i < 100 && res.statusCode === 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    res = await me(app, key)
  }
  t.equal(res.statusCode, 503, 'refused, not served from a view that can no longer be trusted')
  t.equal(res.json().code, 'GW_ERR_STORE_UNAVAILABLE')
  const bad = await me(app, key.slice(0, -3) + 'AAA')
  t.equal(bad.statusCode, 503, 'a wrong key cannot be counted either: refused')
  await redis.start()
  for (let i = 0; i < 100 && res.statusCode !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    res = await me(app, key)
  }
  t.equal(res.statusCode, 200, 'the key works again once Redis is back')
})
