import { request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { keyedHash } from '../../src/util/keyed-hash.js'
import { MemoryStore } from '../../src/store/memory.js'
import { buildTestApp, login, password, redisStore, startRedis, startUpstream, testConfig, throwawayUser, USERS } from '../helper.js'

// OAuth 2.0 clients and grants (RFC 6749, 7009, 7662, 8414) through the
// gateway to the real test WordPress and Redis.

const TOKEN = '/wp-json/api/v1/oauth/token'
const INTROSPECT = '/wp-json/api/v1/oauth/introspect'
const REVOKE = '/wp-json/api/v1/oauth/revoke'

const config = {
  policy: {
    default: 'authenticated',
    rules: [
      { route: '/wp/v2/posts', methods: ['POST'], access: 'authenticated', scopes: ['posts:write'] },
      { route: '/wp/v2/users/me', methods: ['GET'], access: 'authenticated', scopes: ['profile'] }
    ]
  }
}

interface Client { client_id: string, client_secret: string }

async function createClient (app: FastifyInstance, body: object): Promise<Client> {
  const admin = await login(app, 'admin')
  const res = await app.inject({ method: 'POST', url: '/_gateway/admin/clients', headers: { authorization: `Bearer ${admin}` }, payload: body })
  if (res.statusCode !== 201) throw new Error(`creating a client failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

const basic = (c: Client, secret = c.client_secret) => ({ authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(c.client_id)}:${encodeURIComponent(secret)}`).toString('base64') })
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }

function post (app: FastifyInstance, url: string, fields: Record<string, string> | string, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, headers: { ...FORM, ...headers }, payload: typeof fields === 'string' ? fields : form(fields) })
}

function oauthError (t: Test, res: LightMyRequestResponse, status: number, error: string, name: string) {
  t.equal(res.statusCode, status, `${name}: status (${res.body})`)
  t.equal(res.json().error, error, `${name}: error`)
  t.type(res.json().error_description, 'string', `${name}: error_description`)
  t.same(Object.keys(res.json()).sort(), ['error', 'error_description'], `${name}: RFC 6749 §5.2 shape`)
  t.equal(res.headers['cache-control'], 'no-store', `${name}: no-store`)
  t.equal(res.headers.pragma, 'no-cache', `${name}: no-cache`)
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('admin: clients are made, listed and deleted by administrators only; secrets are shown once and never logged', async (t) => {
  const logs: string[] = []
  const app = await buildTestApp(t, config, { logs })
  const admin = bearer(await login(app, 'admin'))
  const created = await app.inject({ method: 'POST', url: '/_gateway/admin/clients', headers: admin, payload: { name: 'Reporting', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['posts:write'] } })
  t.equal(created.statusCode, 201, created.body)
  const c = created.json()
  t.match(c, { client_id: /^wpgc_[0-9a-f]{24}$/, client_secret: /^[A-Za-z0-9_-]{43}$/, name: 'Reporting', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['posts:write'], created_at: /^\d{4}-\d\d-\d\dT/ })
  t.equal(created.headers['cache-control'], 'no-store')

  const list = await app.inject({ method: 'GET', url: '/_gateway/admin/clients', headers: admin })
  t.equal(list.statusCode, 200)
  const listed = list.json().clients.find((x: { client_id: string }) => x.client_id === c.client_id)
  t.same(Object.keys(listed).sort(), ['client_id', 'created_at', 'grant_types', 'name', 'scopes', 'user_id'], 'no secret, no hash')
  t.notOk(list.body.includes(c.client_secret))
  const stored = JSON.stringify(await app.store.records('clients'))
  t.notOk(stored.includes(c.client_secret), 'the store holds no secret')
  t.ok(stored.includes(keyedHash(app.config.env.hashSecret, 'client', c.client_secret)), 'only its keyed hash')

  const bad: Array<[string, object]> = [
    ['no grant types', { name: 'x', user_id: 2, grant_types: [] }],
    ['unknown grant type', { name: 'x', user_id: 2, grant_types: ['implicit'] }],
    ['user id as a string', { name: 'x', user_id: '2', grant_types: ['password'] }],
    ['a scope with a space', { name: 'x', user_id: 2, grant_types: ['password'], scopes: ['a b'] }],
    ['an unknown field', { name: 'x', user_id: 2, grant_types: ['password'], client_secret: 'mine' }],
    ['refresh without password', { name: 'x', user_id: 2, grant_types: ['client_credentials', 'refresh_token'] }]
  ]
  for (const [name, payload] of bad) {
    const res = await app.inject({ method: 'POST', url: '/_gateway/admin/clients', headers: admin, payload })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'GW_ERR_BAD_REQUEST', name)
  }
  const nobody = await app.inject({ method: 'POST', url: '/_gateway/admin/clients', headers: admin, payload: { name: 'x', user_id: 999999, grant_types: ['password'] } })
  t.equal(nobody.statusCode, 404)
  t.equal(nobody.json().code, 'GW_ERR_USER_NOT_FOUND')
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/clients', headers: admin })).json().clients.length, 1, 'refused requests made nothing')

  const editor = bearer(await login(app, 'editor'))
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/admin/clients', headers: editor })).statusCode, 403, 'an editor may not list clients')
  t.equal((await app.inject({ method: 'POST', url: '/_gateway/admin/clients', payload: { name: 'x', user_id: 2, grant_types: ['password'] } })).statusCode, 401, 'nor may anyone without credentials')
  t.equal((await app.inject({ method: 'POST', url: `/_gateway/admin/clients/${c.client_id}/secret`, headers: editor })).statusCode, 403)

  for (const id of ['wpgc_000000000000000000000000', 'not-a-client', 'x'.repeat(100)]) {
    const res = await app.inject({ method: 'DELETE', url: `/_gateway/admin/clients/${id}`, headers: admin })
    t.equal(res.statusCode, 404, id)
    t.equal(res.json().code, 'GW_ERR_CLIENT_NOT_FOUND', id)
  }
  t.equal((await app.inject({ method: 'DELETE', url: `/_gateway/admin/clients/${c.client_id}`, headers: admin })).statusCode, 204)
  t.same((await app.inject({ method: 'GET', url: '/_gateway/admin/clients', headers: admin })).json(), { clients: [] })

  const audit = logs.map((l) => JSON.parse(l)).filter((l) => l.audit !== undefined).map((l) => l.audit)
  t.match(audit, [
    { action: 'client.create', actor: `user:${USERS.admin.id}`, target: `client:${c.client_id}`, user: USERS.editor.id },
    { action: 'clients.list' },
    { action: 'clients.list' },
    { action: 'client.delete', target: `client:${c.client_id}` },
    { action: 'clients.list' }
  ])
  t.notOk(logs.join('\n').includes(c.client_secret), 'the secret never reaches the log')
})

t.test('client_credentials: the service user acts in WordPress, whose capabilities decide; no refresh token', async (t) => {
  const app = await buildTestApp(t, config)
  const editorClient = await createClient(app, { name: 'editor bot', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['posts:write', 'profile'] })
  const res = await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(editorClient))
  t.equal(res.statusCode, 200, res.body)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal(res.headers.pragma, 'no-cache')
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'], 'RFC 6749 §5.1, and no refresh token (§4.4.3)')
  t.equal(body.token_type, 'Bearer')
  t.equal(body.expires_in, 3600)
  t.equal(body.scope, 'posts:write profile')
  const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString())
  t.match(claims, { sub: String(USERS.editor.id), client_id: editorClient.client_id, scope: 'posts:write profile' })

  const created = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: bearer(body.access_token), payload: { title: `oauth client ${Date.now()}`, status: 'draft' } })
  t.equal(created.statusCode, 201, created.body)
  t.equal(created.json().author, USERS.editor.id, 'WordPress records the service user as author')

  // client_secret_post, as JSON: a subscriber's client gets a token, and WordPress itself refuses the post.
  const subClient = await createClient(app, { name: 'subscriber bot', user_id: USERS.subscriber.id, grant_types: ['client_credentials'], scopes: ['posts:write'] })
  const sub = await app.inject({ method: 'POST', url: TOKEN, payload: { grant_type: 'client_credentials', client_id: subClient.client_id, client_secret: subClient.client_secret } })
  t.equal(sub.statusCode, 200, sub.body)
  const refused = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: bearer(sub.json().access_token), payload: { title: 'nope' } })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'rest_cannot_create', 'refused by WordPress, not by the gateway')

  // The miniOrange-style endpoint answers the same way when the body names a grant_type.
  const legacy = await post(app, '/wp-json/api/v1/token', { grant_type: 'client_credentials' }, basic(editorClient))
  t.equal(legacy.statusCode, 200, legacy.body)
  t.equal(legacy.json().scope, 'posts:write profile')
  oauthError(t, await post(app, '/wp-json/api/v1/token', { grant_type: 'client_credentials' }, basic(editorClient, 'wrong')), 401, 'invalid_client', 'legacy endpoint, wrong secret')
  const plain = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: password('editor') } })
  t.equal(plain.statusCode, 200, 'without grant_type the login endpoint is unchanged')
  t.ok(plain.json().jwt_token)
  t.equal((await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor' } })).json().code, 'GW_ERR_BAD_REQUEST')
})

t.test('password grant, refresh rotation, reuse detection, and refresh tokens bound to their client', async (t) => {
  const app = await buildTestApp(t, config)
  const a = await createClient(app, { name: 'app A', user_id: USERS.admin.id, grant_types: ['password', 'refresh_token'], scopes: ['profile', 'posts:write'] })
  const b = await createClient(app, { name: 'app B', user_id: USERS.admin.id, grant_types: ['password', 'refresh_token'], scopes: ['profile'] })
  const noRefresh = await createClient(app, { name: 'app C', user_id: USERS.admin.id, grant_types: ['password'] })

  const res = await post(app, TOKEN, { grant_type: 'password', username: 'author', password: password('author') }, basic(a))
  t.equal(res.statusCode, 200, res.body)
  const first = res.json()
  t.same(Object.keys(first).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  const me = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(first.access_token) })
  t.equal(me.statusCode, 200, me.body)
  t.equal(me.json().id, USERS.author.id, 'the token acts as the user who gave the password, not the service user')
  const sessions = (await app.inject({ method: 'GET', url: `/_gateway/admin/users/${USERS.author.id}/sessions`, headers: bearer(await login(app, 'admin')) })).json().sessions
  t.equal(sessions.length, 1, 'the grant started a session')
  t.equal(sessions[0].client_id, a.client_id, 'which names its client')

  oauthError(t, await post(app, TOKEN, { grant_type: 'password', username: 'author', password: 'wrong' }, basic(a)), 400, 'invalid_grant', 'wrong password')
  oauthError(t, await post(app, TOKEN, { grant_type: 'password', username: 'nobody-here', password: 'wrong' }, basic(a)), 400, 'invalid_grant', 'unknown user')
  oauthError(t, await post(app, TOKEN, { grant_type: 'password', password: 'x' }, basic(a)), 400, 'invalid_request', 'no username')
  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, basic(noRefresh)), 400, 'unauthorized_client', 'refresh not allowed')
  const c = await post(app, TOKEN, { grant_type: 'password', username: 'author', password: password('author') }, basic(noRefresh))
  t.equal(c.statusCode, 200)
  t.notOk('refresh_token' in c.json(), 'a client without the refresh_token grant gets no refresh token')
  t.notOk('scope' in c.json(), 'nor a scope when it has none')

  // Client B presents A's refresh token: refused, and A's token is not spent by it.
  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, basic(b)), 400, 'invalid_grant', 'another client\'s refresh token')
  const viaPlain = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: first.refresh_token } })
  t.equal(viaPlain.json().code, 'GW_ERR_REFRESH_TOKEN_INVALID', 'nor can it be refreshed into an unscoped token at the login refresh')
  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'profile admin' }, basic(a)), 400, 'invalid_scope', 'a wider scope on refresh')

  const second = await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'profile' }, basic(a))
  t.equal(second.statusCode, 200, 'after all those refusals the token is still good: ' + second.body)
  t.equal(second.json().scope, 'profile', 'narrowed on refresh')
  t.not(second.json().refresh_token, first.refresh_token, 'rotated')
  const third = await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: second.json().refresh_token }, basic(a))
  t.equal(third.json().scope, 'profile posts:write', 'without a scope, the session\'s original grant')

  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, basic(a)), 400, 'invalid_grant', 'reuse')
  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: third.json().refresh_token }, basic(a)), 400, 'invalid_grant', 'the reuse ended the whole session')
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(third.json().access_token) })).json().code, 'GW_ERR_TOKEN_REVOKED', 'with its access tokens')
})

t.test('scopes: within the client\'s, and the token works only where rules name them', async (t) => {
  const app = await buildTestApp(t, config)
  const client = await createClient(app, { name: 'scoped', user_id: USERS.editor.id, grant_types: ['client_credentials', 'password'], scopes: ['posts:write', 'profile'] })
  const narrow = await post(app, TOKEN, { grant_type: 'client_credentials', scope: 'profile' }, basic(client))
  t.equal(narrow.json().scope, 'profile')
  const token = narrow.json().access_token
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(token) })).statusCode, 200)
  const write = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: bearer(token), payload: { title: 'nope' } })
  t.equal(write.statusCode, 403)
  t.equal(write.json().code, 'GW_ERR_INSUFFICIENT_SCOPE', 'a rule naming posts:write refuses a token without it')
  const unnamed = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/categories', headers: bearer(token) })
  t.equal(unnamed.json().code, 'GW_ERR_INSUFFICIENT_SCOPE', 'and a route whose rule names no scope refuses a scoped token')

  oauthError(t, await post(app, TOKEN, { grant_type: 'client_credentials', scope: 'profile admin' }, basic(client)), 400, 'invalid_scope', 'outside the client\'s')
  oauthError(t, await post(app, TOKEN, { grant_type: 'client_credentials', scope: 'profile  posts:write' }, basic(client)), 400, 'invalid_scope', 'malformed')
  oauthError(t, await post(app, TOKEN, { grant_type: 'password', username: 'author', password: 'wrong', scope: 'admin' }, basic(client)), 400, 'invalid_scope', 'checked before the password')
})

t.test('RFC 6749 errors, each with no-store; refusals change nothing', async (t) => {
  const app = await buildTestApp(t, config)
  const client = await createClient(app, { name: 'errors', user_id: USERS.editor.id, grant_types: ['client_credentials'] })
  const cc = { grant_type: 'client_credentials' }

  oauthError(t, await post(app, TOKEN, {}, basic(client)), 400, 'invalid_request', 'no grant_type')
  oauthError(t, await post(app, TOKEN, { grant_type: 'implicit' }, basic(client)), 400, 'unsupported_grant_type', 'unknown grant')
  oauthError(t, await post(app, TOKEN, { grant_type: 'password', username: 'editor', password: password('editor') }, basic(client)), 400, 'unauthorized_client', 'grant not allowed')
  oauthError(t, await post(app, TOKEN, 'grant_type=client_credentials&grant_type=password', basic(client)), 400, 'invalid_request', 'repeated parameter')
  oauthError(t, await app.inject({ method: 'POST', url: TOKEN, headers: basic(client), payload: { grant_type: ['client_credentials'] } }), 400, 'invalid_request', 'non-string parameter')
  oauthError(t, await app.inject({ method: 'POST', url: TOKEN, headers: { ...basic(client), 'content-type': 'application/json' }, payload: '{"grant_type":' }), 400, 'invalid_request', 'malformed JSON')
  oauthError(t, await app.inject({ method: 'POST', url: TOKEN, headers: { ...basic(client), 'content-type': 'application/json' }, payload: '["x"]' }), 400, 'invalid_request', 'JSON that is no object')
  oauthError(t, await post(app, TOKEN, { ...cc, client_secret: client.client_secret }, basic(client)), 400, 'invalid_request', 'two authentication methods')
  oauthError(t, await post(app, TOKEN, { ...cc, client_id: 'wpgc_000000000000000000000000' }, basic(client)), 400, 'invalid_request', 'a body client_id other than the authenticated one')
  // Two header lines need a real connection (injected requests join them).
  await app.listen({ port: 0, host: '127.0.0.1' })
  const twoHeaders = await new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = httpRequest(`http://127.0.0.1:${(app.server.address() as AddressInfo).port}${TOKEN}`, { method: 'POST', headers: ['host', '127.0.0.1', 'content-type', FORM['content-type'], 'content-length', String(form(cc).length), 'authorization', basic(client).authorization, 'authorization', basic(client).authorization] }, (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(form(cc))
  })
  t.equal(twoHeaders.status, 400, 'two Authorization headers: ' + twoHeaders.body)
  t.equal(JSON.parse(twoHeaders.body).error, 'invalid_request', 'two Authorization headers')

  const challenged: Array<[string, Record<string, string>, Record<string, string>]> = [
    ['no client authentication', {}, cc],
    ['a client_id alone', {}, { ...cc, client_id: client.client_id }],
    ['wrong secret by Basic', basic(client, 'wrong'), cc],
    ['unknown client by Basic', basic({ client_id: 'wpgc_000000000000000000000000', client_secret: client.client_secret }), cc],
    ['not Basic', { authorization: `Bearer ${client.client_secret}` }, cc],
    ['Basic without a colon', { authorization: 'Basic ' + Buffer.from('nocolon').toString('base64') }, cc],
    ['Basic with a bad escape', { authorization: 'Basic ' + Buffer.from(`${client.client_id}:%zz`).toString('base64') }, cc]
  ]
  for (const [name, headers, fields] of challenged) {
    const res = await post(app, TOKEN, fields, headers)
    oauthError(t, res, 401, 'invalid_client', name)
    t.equal(res.headers['www-authenticate'], 'Basic realm="wp-auth-gateway"', `${name}: challenges for Basic`)
  }
  const wrongPost = await post(app, TOKEN, { ...cc, client_id: client.client_id, client_secret: 'wrong' })
  oauthError(t, wrongPost, 401, 'invalid_client', 'wrong secret by post')
  const unknownPost = await post(app, TOKEN, { ...cc, client_id: 'anything', client_secret: 'wrong' })
  t.same(unknownPost.json(), wrongPost.json(), 'an unknown client and a wrong secret are one answer')

  // A secret with characters that form-encoding must carry (RFC 6749 §2.3.1) is decoded as such.
  const ok = await post(app, TOKEN, cc, { authorization: 'Basic ' + Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64') })
  t.equal(ok.statusCode, 200, 'after all that the client still works: ' + ok.body)
})

t.test('client secrets are throttled per client: 429 slow_down with Retry-After, right secret included', async (t) => {
  const app = await buildTestApp(t, { ...config, auth: { throttle: { account: { attempts: 3, seconds: 60 }, ip: { attempts: 100, seconds: 60 } } } })
  const client = await createClient(app, { name: 'guessed', user_id: USERS.editor.id, grant_types: ['client_credentials'] })
  const other = await createClient(app, { name: 'other', user_id: USERS.editor.id, grant_types: ['client_credentials'] })
  const statuses = []
  for (let i = 0; i < 4; i++) statuses.push((await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client, `guess-${i}`))).statusCode)
  t.same(statuses, [401, 401, 429, 429], 'the third failure reaches the limit')
  const right = await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client))
  oauthError(t, right, 429, 'slow_down', 'the right secret while refused')
  t.ok(Number(right.headers['retry-after']) > 0, 'Retry-After')
  t.equal((await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(other))).statusCode, 200, 'other clients are untouched')
  await t.rejects(app.oauthClients.authenticateClient(client.client_id, client.client_secret, '127.0.0.1'), { code: 'GW_ERR_TOO_MANY_ATTEMPTS' }, 'the Basic path shares the count')

  // The password grant's user side counts per account, as at the login endpoint (src/throttle/password.ts).
  const pwClient = await createClient(app, { name: 'password guesser', user_id: USERS.editor.id, grant_types: ['password'] })
  const guesses = []
  for (let i = 0; i < 4; i++) guesses.push((await post(app, TOKEN, { grant_type: 'password', username: 'contributor', password: `guess-${i}` }, basic(pwClient))).statusCode)
  t.same(guesses, [400, 400, 429, 429], 'invalid_grant, then slow_down once the account reaches its limit')
  const login = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'contributor', password: password('contributor') } })
  t.equal(login.statusCode, 429, 'and the login endpoint refuses the account too: one count for every path')
})

t.test('secret rotation: the old secret works for the grace period, then stops', async (t) => {
  const app = await buildTestApp(t, { ...config, oauth: { secretRotationGraceSeconds: 1 } })
  const admin = bearer(await login(app, 'admin'))
  const client = await createClient(app, { name: 'rotating', user_id: USERS.editor.id, grant_types: ['client_credentials'] })
  const rotated = await app.inject({ method: 'POST', url: `/_gateway/admin/clients/${client.client_id}/secret`, headers: admin })
  t.equal(rotated.statusCode, 200, rotated.body)
  const fresh = { client_id: client.client_id, client_secret: rotated.json().client_secret }
  t.not(fresh.client_secret, client.client_secret)
  t.ok(Date.parse(rotated.json().previous_secret_expires_at) > Date.now())
  const cc = { grant_type: 'client_credentials' }
  t.equal((await post(app, TOKEN, cc, basic(fresh))).statusCode, 200, 'the new secret works')
  t.equal((await post(app, TOKEN, cc, basic(client))).statusCode, 200, 'the old one too, during the grace period')
  await new Promise((resolve) => setTimeout(resolve, 1300))
  oauthError(t, await post(app, TOKEN, cc, basic(client)), 401, 'invalid_client', 'the old secret after the grace period')
  t.equal((await post(app, TOKEN, cc, basic(fresh))).statusCode, 200, 'the new one still works')
  t.equal((await app.inject({ method: 'POST', url: '/_gateway/admin/clients/wpgc_000000000000000000000000/secret', headers: admin })).json().code, 'GW_ERR_CLIENT_NOT_FOUND')
})

t.test('deleting a client ends every token it was issued', async (t) => {
  const app = await buildTestApp(t, config)
  const admin = bearer(await login(app, 'admin'))
  const client = await createClient(app, { name: 'doomed', user_id: USERS.editor.id, grant_types: ['client_credentials', 'password', 'refresh_token'], scopes: ['profile'] })
  const cc = (await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client))).json()
  const pw = (await post(app, TOKEN, { grant_type: 'password', username: 'author', password: password('author') }, basic(client))).json()
  const me = (token: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(token) })
  t.equal((await me(cc.access_token)).statusCode, 200)
  t.equal((await me(pw.access_token)).statusCode, 200)
  const author = bearer(await login(app, 'author'))

  t.equal((await app.inject({ method: 'DELETE', url: `/_gateway/admin/clients/${client.client_id}`, headers: admin })).statusCode, 204)
  t.equal((await me(cc.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'client_credentials token')
  t.equal((await me(pw.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'password grant token')
  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: pw.refresh_token }, basic(client)), 401, 'invalid_client', 'the client no longer authenticates')
  t.equal((await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pw.refresh_token } })).statusCode, 401, 'its refresh token is useless elsewhere')
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/categories', headers: author })).statusCode, 200, 'the user\'s own login is untouched')
})

t.test('introspection (RFC 7662) and revocation (RFC 7009): a client sees and revokes only its own tokens', async (t) => {
  const app = await buildTestApp(t, config)
  const a = await createClient(app, { name: 'A', user_id: USERS.editor.id, grant_types: ['password', 'refresh_token', 'client_credentials'], scopes: ['profile'] })
  const b = await createClient(app, { name: 'B', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['profile'] })
  const pw = (await post(app, TOKEN, { grant_type: 'password', username: 'author', password: password('author') }, basic(a))).json()
  const ofB = (await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(b))).json()

  const info = await post(app, INTROSPECT, { token: pw.access_token }, basic(a))
  t.equal(info.statusCode, 200)
  t.equal(info.headers['cache-control'], 'no-store')
  const claims = JSON.parse(Buffer.from(pw.access_token.split('.')[1], 'base64url').toString())
  t.same(info.json(), { active: true, client_id: a.client_id, username: 'author', token_type: 'Bearer', sub: String(USERS.author.id), iss: 'wp-auth-gateway', aud: 'wordpress', iat: claims.iat, nbf: claims.nbf, exp: claims.exp, jti: claims.jti, scope: 'profile' })
  t.match((await post(app, INTROSPECT, { token: pw.refresh_token, token_type_hint: 'refresh_token' }, basic(a))).json(), { active: true, client_id: a.client_id, sub: String(USERS.author.id), scope: 'profile' })
  for (const [name, token, who] of [['another client\'s token', ofB.access_token, a], ['a token of A asked by B', pw.access_token, b], ['garbage', 'x.y.z', a], ['a login token without a client', await login(app, 'editor'), a]] as const) {
    t.same((await post(app, INTROSPECT, { token }, basic(who))).json(), { active: false }, name)
  }
  oauthError(t, await post(app, INTROSPECT, { token: pw.access_token }), 401, 'invalid_client', 'introspection needs client authentication')
  oauthError(t, await post(app, INTROSPECT, {}, basic(a)), 400, 'invalid_request', 'introspection needs a token')

  // B cannot revoke A's token: answered 200, changed nothing.
  const byB = await post(app, REVOKE, { token: pw.access_token }, basic(b))
  t.equal(byB.statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(pw.access_token) })).statusCode, 200, 'still valid')
  t.equal((await post(app, REVOKE, { token: 'unknown-token' }, basic(a))).statusCode, 200, 'unknown tokens: 200')
  oauthError(t, await post(app, REVOKE, { token: pw.access_token }, basic(a, 'wrong')), 401, 'invalid_client', 'revocation needs client authentication')

  const revoked = await post(app, REVOKE, { token: pw.access_token }, basic(a))
  t.equal(revoked.statusCode, 200)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(pw.access_token) })).json().code, 'GW_ERR_TOKEN_REVOKED')
  t.same((await post(app, INTROSPECT, { token: pw.access_token }, basic(a))).json(), { active: false }, 'inactive once revoked')
  t.same((await post(app, INTROSPECT, { token: pw.refresh_token }, basic(a))).json(), { active: false }, 'and its session\'s refresh token with it')

  const second = (await post(app, TOKEN, { grant_type: 'password', username: 'author', password: password('author') }, basic(a))).json()
  const rotated = (await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: second.refresh_token }, basic(a))).json()
  t.same((await post(app, INTROSPECT, { token: second.refresh_token }, basic(a))).json(), { active: false }, 'a spent refresh token is inactive')
  t.equal((await post(app, REVOKE, { token: rotated.refresh_token, token_type_hint: 'refresh_token' }, basic(a))).statusCode, 200)
  oauthError(t, await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: rotated.refresh_token }, basic(a)), 400, 'invalid_grant', 'a revoked refresh token')
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(rotated.access_token) })).json().code, 'GW_ERR_TOKEN_REVOKED', 'revoking the refresh token ended its session')
})

t.test('RFC 8414 metadata: every URL absolute, issuer from config or from the request', async (t) => {
  const app = await buildTestApp(t, config)
  await createClient(app, { name: 'meta', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['reports'] })
  const res = await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server', headers: { host: 'gw.example.test:8443' } })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['cache-control'], 'no-store', 'derived from Host: never cached by others')
  const m = res.json()
  t.same(m, {
    issuer: 'http://gw.example.test:8443',
    token_endpoint: 'http://gw.example.test:8443/wp-json/api/v1/oauth/token',
    introspection_endpoint: 'http://gw.example.test:8443/wp-json/api/v1/oauth/introspect',
    revocation_endpoint: 'http://gw.example.test:8443/wp-json/api/v1/oauth/revoke',
    jwks_uri: 'http://gw.example.test:8443/.well-known/jwks.json',
    grant_types_supported: ['password', 'client_credentials', 'refresh_token'],
    response_types_supported: [],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    scopes_supported: ['posts:write', 'profile', 'reports']
  })
  oauthError(t, await app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server', headers: { host: 'evil.test/path?x' } }), 400, 'invalid_request', 'a Host that is no host name')

  const fixed = await buildTestApp(t, { oauth: { issuer: 'https://api.example.test' } })
  const f = await fixed.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server', headers: { host: 'other.test' } })
  t.equal(f.json().issuer, 'https://api.example.test')
  t.equal(f.json().token_endpoint, 'https://api.example.test/wp-json/api/v1/oauth/token')
  t.equal(f.headers['cache-control'], 'public, max-age=300')
  const fromTokens = await buildTestApp(t, { tokens: { issuer: 'https://tokens.example.test' } })
  t.equal((await fromTokens.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json().issuer, 'https://tokens.example.test', 'tokens.issuer when it is an origin')
  for (const issuer of ['https://api.example.test/path', 'api.example.test', 'https://user@api.example.test']) {
    t.throws(() => testConfig({ oauth: { issuer } }), /oauth\/issuer|oauth\.issuer/, `oauth.issuer ${issuer} is refused at start-up`)
  }
})

t.test('the interface the Basic authenticator calls', async (t) => {
  const app = await buildTestApp(t, config)
  const client = await createClient(app, { name: 'basic', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['profile'] })
  t.ok(app.oauthClients.isClientId(client.client_id))
  t.notOk(app.oauthClients.isClientId('editor'))
  const identity = await app.oauthClients.authenticateClient(client.client_id, client.client_secret, '127.0.0.1')
  t.match(identity, { userId: String(USERS.editor.id), login: 'editor', roles: ['editor'], method: 'basic', via: 'basic', clientId: client.client_id, scopes: ['profile'] })
  t.ok(identity.issuedAt! <= Date.now() / 1000)
  await t.rejects(app.oauthClients.authenticateClient(client.client_id, 'wrong', '127.0.0.1'), { code: 'GW_ERR_CLIENT_INVALID', statusCode: 401 })
  await t.rejects(app.oauthClients.authenticateClient('wpgc_nope', 'wrong', '127.0.0.1'), { code: 'GW_ERR_CLIENT_INVALID', statusCode: 401 })

  // A change to the service user (here an administrator's "log out everywhere") re-reads it; the client keeps working.
  const admin = bearer(await login(app, 'admin'))
  t.equal((await app.inject({ method: 'POST', url: `/_gateway/admin/users/${USERS.editor.id}/revoke`, headers: admin })).statusCode, 200)
  const after = await app.oauthClients.authenticateClient(client.client_id, client.client_secret, '127.0.0.1')
  t.ok(after.issuedAt! >= identity.issuedAt!, 'with a fresh snapshot')
  t.equal((await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client))).statusCode, 200)
})

t.test('clients follow their service user: a role change is re-read, a deletion deletes the client', async (t) => {
  const app = await buildTestApp(t, config)
  const admin = bearer(await login(app, 'admin'))
  const user = await throwawayUser(t, app, 'author')
  const client = await createClient(app, { name: 'follows', user_id: user.id, grant_types: ['client_credentials'] })
  t.same((await app.oauthClients.authenticateClient(client.client_id, client.client_secret, '127.0.0.1')).roles, ['author'])

  // What the bridge's event does (src/routes/events.ts): the change, then the user's listeners.
  t.equal((await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: admin, payload: { roles: ['editor'] } })).statusCode, 200)
  await app.userChanges.changed(user.id, 'roles_changed')
  t.same((await app.oauthClients.authenticateClient(client.client_id, client.client_secret, '127.0.0.1')).roles, ['editor'], 'the snapshot was read again')
  const token = (await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client))).json().access_token
  t.same(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).roles, ['editor'])

  t.equal((await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${user.id}?force=true&reassign=1`, headers: admin })).statusCode, 200)
  await app.userChanges.changed(user.id, 'user_deleted')
  t.notOk((await app.inject({ method: 'GET', url: '/_gateway/admin/clients', headers: admin })).json().clients.some((c: Client) => c.client_id === client.client_id), 'the client is gone')
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/categories', headers: bearer(token) })).json().code, 'GW_ERR_TOKEN_REVOKED', 'its token with it')
  oauthError(t, await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client)), 401, 'invalid_client', 'the deleted client')
})

t.test('a store that cannot answer fails closed: 503 temporarily_unavailable, never a token', async (t) => {
  const redis = await startRedis(t)
  const store = redisStore(redis.url, { commandTimeoutMs: 300 })
  await store.connect()
  t.teardown(async () => { await store.close() })
  const app = await buildTestApp(t, { ...config, store: { commandTimeoutMs: 300 } }, { store })
  const client = await createClient(app, { name: 'outage', user_id: USERS.editor.id, grant_types: ['client_credentials', 'password'] })
  t.equal((await post(app, TOKEN, { grant_type: 'client_credentials' }, basic(client))).statusCode, 200)
  const admin = bearer(await login(app, 'admin'))

  await redis.stop()
  for (const [name, fields] of [['client_credentials', { grant_type: 'client_credentials' }], ['password', { grant_type: 'password', username: 'author', password: password('author') }]] as const) {
    const res = await post(app, TOKEN, fields, basic(client))
    t.equal(res.statusCode, 503, `${name}: ${res.body}`)
    t.equal(res.json().error, 'temporarily_unavailable', name)
    t.notOk('access_token' in res.json(), name)
  }
  const made = await app.inject({ method: 'POST', url: '/_gateway/admin/clients', headers: admin, payload: { name: 'x', user_id: 2, grant_types: ['password'] } })
  t.equal(made.statusCode, 503, 'no client is made either')
})

t.test('the in-process store serves clients and grants too (a single instance without REDIS_URL)', async (t) => {
  const app = await buildTestApp(t, config, { store: new MemoryStore() })
  const client = await createClient(app, { name: 'local', user_id: USERS.editor.id, grant_types: ['client_credentials', 'password', 'refresh_token'], scopes: ['profile'] })
  const pw = await post(app, TOKEN, { grant_type: 'password', username: 'author', password: password('author') }, basic(client))
  t.equal(pw.statusCode, 200, pw.body)
  const refreshed = await post(app, TOKEN, { grant_type: 'refresh_token', refresh_token: pw.json().refresh_token }, basic(client))
  t.equal(refreshed.statusCode, 200, refreshed.body)
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: bearer(refreshed.json().access_token) })).json().id, USERS.author.id)
  t.same((await post(app, INTROSPECT, { token: pw.json().refresh_token }, basic(client))).json(), { active: false }, 'the spent refresh token')
})

t.test('Basic with a client\'s id and secret on a REST route: its service user, narrowed to its scopes', async (t) => {
  const app = await buildTestApp(t, { ...config, auth: { methods: ['jwt', 'basic'], basic: { requireTls: false } } })
  const client = await createClient(app, { name: 'basic rest', user_id: USERS.editor.id, grant_types: ['client_credentials'], scopes: ['profile'] })
  const me = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: basic(client) })
  t.equal(me.statusCode, 200, me.body)
  t.equal(me.json().id, USERS.editor.id, 'WordPress answers as the service user')
  const write = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: basic(client), payload: { title: 'nope' } })
  t.equal(write.json().code, 'GW_ERR_INSUFFICIENT_SCOPE', 'only where rules name its scopes')
  const wrong = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: basic(client, 'wrong') })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'GW_ERR_CLIENT_INVALID')
  t.match(wrong.headers['www-authenticate'], /^Basic realm="wp-auth-gateway"/, 'challenged for Basic')
})

t.test('WordPress is told a client\'s token came by way of OAuth (assertion via: oauth)', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'authenticated' } }, { env: { WORDPRESS_URL: upstream.url } })
  const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
  const viaOf = async (token: string) => {
    t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: bearer(token) })).statusCode, 200)
    const assertion = upstream.requests.at(-1)!.headers['x-wp-gateway-assertion'] as string
    return JSON.parse(Buffer.from(assertion.split('.')[1]!, 'base64url').toString()).via
  }
  t.equal(await viaOf((await app.accessTokens.issue(user, 'sid-oauth-test-00000000', { clientId: 'wpgc_000000000000000000000000' })).token), 'oauth')
  t.equal(await viaOf((await app.accessTokens.issue(user, 'sid-login-test-00000000')).token), 'jwt', 'a login token stays jwt')
})
