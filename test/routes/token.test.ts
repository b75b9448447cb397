import t from 'tap'
import { jwtVerify, decodeProtectedHeader } from 'jose'
import { buildTestApp, JWT_SECRET, USERS } from '../helper.js'

t.test('token by login, by email, as JSON and as a form', async (t) => {
  const app = await buildTestApp(t, { tokens: { accessTokenTtlSeconds: 900 } })
  const requests = [
    { payload: { username: 'editor', password: 'editor-password-123' } },
    { payload: { username: 'editor@example.test', password: 'editor-password-123' } },
    { payload: 'username=editor&password=editor-password-123', headers: { 'content-type': 'application/x-www-form-urlencoded' } }
  ]
  for (const r of requests) {
    const res = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', ...r })
    t.equal(res.statusCode, 200, res.body)
    t.equal(res.headers['cache-control'], 'no-store')
    const body = res.json()
    t.equal(body.token_type, 'Bearer')
    t.equal(body.expires_in, 900, 'lifetime from config')
    t.equal(body.jwt_token, body.access_token, 'miniOrange-compatible field')
    t.same(body.user, { id: USERS.editor.id, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] })

    const header = decodeProtectedHeader(body.access_token)
    t.equal(header.typ, 'at+jwt')
    t.equal(header.kid, app.keyring.signer.kid)
    const { payload } = await jwtVerify(body.access_token, new TextEncoder().encode(JWT_SECRET), { issuer: 'wp-auth-gateway', audience: 'wordpress' })
    t.equal(payload.sub, String(USERS.editor.id))
    t.equal((payload.exp ?? 0) - (payload.iat ?? 0), 900)
    t.equal(payload.nbf, payload.iat)
    t.match(payload.jti, /^[A-Za-z0-9_-]{22}$/)
    t.same(payload.roles, ['editor'])
  }
})

t.test('wrong password and unknown user are indistinguishable', async (t) => {
  const app = await buildTestApp(t)
  const wrong = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: 'nope' } })
  const unknown = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'nobody-here', password: 'nope' } })
  const unknownEmail = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'nobody@example.test', password: 'nope' } })
  for (const res of [wrong, unknown, unknownEmail]) {
    t.equal(res.statusCode, 401)
    t.same(res.json(), { code: 'GW_ERR_INVALID_CREDENTIALS', message: 'Invalid username or password.', data: { status: 401 } })
  }
})

t.test('password guessing is throttled per account and per IP, the same for unknown accounts', async (t) => {
  const app = await buildTestApp(t, { auth: { throttle: { account: { attempts: 3, seconds: 60 }, ip: { attempts: 8, seconds: 60 } } } })
  const attempt = (username: string, password: string, ip = '10.0.0.1') =>
    app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username, password }, remoteAddress: ip })
  for (const account of ['author', 'nobody-here']) {
    const codes = []
    for (let i = 0; i < 4; i++) codes.push((await attempt(account, 'wrong')).statusCode)
    t.same(codes, [401, 401, 429, 429], `${account}: the third failure reaches the limit`)
    const refused = await attempt(account, account === 'author' ? 'author-password-123' : 'x', '10.0.0.2')
    t.equal(refused.statusCode, 429, `${account}: the right password does not help while the account is refused`)
    t.equal(refused.json().code, 'GW_ERR_TOO_MANY_ATTEMPTS')
    t.ok(Number(refused.headers['retry-after']) > 0, 'with Retry-After')
  }
  t.equal((await attempt('editor', 'editor-password-123', '10.0.0.2')).statusCode, 200, 'other accounts are untouched')
  t.equal((await attempt('editor', 'wrong', '10.0.0.2')).statusCode, 401)
  t.equal((await attempt('editor', 'editor-password-123', '10.0.0.2')).statusCode, 200, 'a success clears the account\'s count')
  // 10.0.0.1 has failed 6 times (3 per account; refusals are not counted): two more accounts reach its limit of 8.
  const spray = [(await attempt('spray-1', 'wrong')).statusCode, (await attempt('spray-2', 'wrong')).statusCode]
  t.same(spray, [401, 429], 'the IP reaches its limit across accounts')
  t.equal((await attempt('contributor', 'contributor-password-123')).statusCode, 429, 'and is refused for any account')
  t.equal((await attempt('contributor', 'contributor-password-123', '10.0.0.4')).statusCode, 200, 'from another IP that account works')
})

t.test('malformed token requests', async (t) => {
  const app = await buildTestApp(t)
  const cases: Array<[string, object]> = [
    ['missing password', { payload: { username: 'editor' } }],
    ['empty username', { payload: { username: '', password: 'x' } }],
    ['non-string password', { payload: { username: 'editor', password: ['a'] } }],
    ['not JSON', { payload: '{"username":', headers: { 'content-type': 'application/json' } }]
  ]
  for (const [name, r] of cases) {
    const res = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', ...r })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'GW_ERR_BAD_REQUEST', name)
  }
  const huge = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'editor', password: 'x'.repeat(20_000) } })
  t.equal(huge.statusCode, 413)
  t.equal(huge.json().code, 'GW_ERR_BODY_TOO_LARGE')
  const xml = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: '<x/>', headers: { 'content-type': 'application/xml' } })
  t.equal(xml.statusCode, 415)
})

t.test('token-validate', async (t) => {
  const app = await buildTestApp(t)
  const { access_token: token } = (await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: 'author', password: 'author-password-123' } })).json()
  const ok = await app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate', headers: { authorization: `Bearer ${token}` } })
  t.equal(ok.statusCode, 200)
  t.match(ok.json(), { valid: true, user: { id: USERS.author.id, login: 'author', roles: ['author'] } })
  t.ok(ok.json().expires_at > Date.now() / 1000)
  const none = await app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().code, 'GW_ERR_TOKEN_MISSING')
  const bad = await app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate', headers: { authorization: `Bearer ${token}x` } })
  t.equal(bad.json().code, 'GW_ERR_TOKEN_INVALID')
})

t.test('the gateway\'s own routes under other aliases are never forwarded', async (t) => {
  const app = await buildTestApp(t, { policy: { default: 'public' } })
  for (const url of ['/?rest_route=/api/v1/token', '/index.php/wp-json/api/v1/token', '/wp-json/API/v1/token/', '/wp-json/gateway-bridge/v1/authenticate', '/?rest_route=/gateway-bridge/v1/authenticate']) {
    const res = await app.inject({ method: 'POST', url, payload: { username: 'editor', password: 'editor-password-123', login: 'editor' } })
    t.equal(res.statusCode, 404, url)
    t.equal(res.json().code, 'GW_ERR_ROUTE_NOT_FOUND', url)
  }
})
