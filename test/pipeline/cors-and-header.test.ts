import t from 'tap'
import { buildTestApp, startUpstream } from '../helper.js'

const user = { id: 3, login: 'au', email: 'au@example.test', display_name: 'Au', roles: ['author'] }

t.test('CORS: preflights answered by the gateway, WordPress\'s own CORS headers replaced', async (t) => {
  // WordPress echoes any Origin with credentials allowed (rest_send_cors_headers).
  const upstream = await startUpstream(t, { headers: { 'access-control-allow-origin': 'https://evil.example', 'access-control-allow-credentials': 'true' } })
  const app = await buildTestApp(t, { cors: { origins: ['https://app.example.com'], credentials: true } }, { env: { WORDPRESS_URL: upstream.url } })

  const preflight = await app.inject({ method: 'OPTIONS', url: '/wp-json/wp/v2/posts', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } })
  t.equal(preflight.statusCode, 204, 'answered without credentials, though the route needs a login')
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example.com')
  t.equal(preflight.headers['access-control-allow-credentials'], 'true')
  t.match(preflight.headers['access-control-allow-methods'], /POST/)
  t.match(preflight.headers['access-control-allow-headers'], /Authorization/)
  t.equal(preflight.headers['access-control-max-age'], '600')

  const foreign = await app.inject({ method: 'OPTIONS', url: '/wp-json/wp/v2/posts', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } })
  t.equal(foreign.statusCode, 204)
  t.equal(foreign.headers['access-control-allow-origin'], undefined, 'a foreign origin gets no allowance')
  t.equal(upstream.requests.length, 0, 'preflights never reach WordPress')

  const { token } = await app.accessTokens.issue(user, 's')
  const real = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { origin: 'https://app.example.com', authorization: `Bearer ${token}` } })
  t.equal(real.statusCode, 200)
  t.equal(real.headers['access-control-allow-origin'], 'https://app.example.com')
  t.match(real.headers['access-control-expose-headers'], /X-WP-Total/)
  const evil = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { origin: 'https://evil.example', authorization: `Bearer ${token}` } })
  t.equal(evil.headers['access-control-allow-origin'], undefined, 'WordPress\'s echo of the foreign origin is stripped')
  t.equal(evil.headers['access-control-allow-credentials'], undefined)
  const refused = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { origin: 'https://app.example.com' } })
  t.equal(refused.statusCode, 401)
  t.equal(refused.headers['access-control-allow-origin'], 'https://app.example.com', 'errors are readable by the allowed origin too')
})

t.test('a custom credential header; Authorization is then refused for credentials', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { auth: { header: 'X-Auth-Token' }, cors: { origins: ['*'] } }, { env: { WORDPRESS_URL: upstream.url } })
  const { token } = await app.accessTokens.issue(user, 's')
  const bare = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { 'x-auth-token': token } })
  t.equal(bare.statusCode, 200, 'the bare token in the custom header')
  const bearer = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { 'x-auth-token': `Bearer ${token}` } })
  t.equal(bearer.statusCode, 200, 'or with its scheme')
  const viaAuthorization = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}` } })
  t.equal(viaAuthorization.statusCode, 400)
  t.equal(viaAuthorization.json().code, 'GW_ERR_AUTH_HEADER_NOT_ALLOWED')
  t.match(viaAuthorization.json().message, /X-Auth-Token/)
  const both = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}`, 'x-auth-token': token } })
  t.equal(both.statusCode, 400)
  const none = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' })
  t.equal(none.statusCode, 401)
  t.equal(upstream.requests.length, 2, 'only the two good requests were forwarded')
  for (const r of upstream.requests) t.equal(r.headers['x-auth-token'], undefined, 'the custom header is stripped before WordPress')
  const preflight = await app.inject({ method: 'OPTIONS', url: '/wp-json/wp/v2/posts', headers: { origin: 'https://any.example', 'access-control-request-method': 'GET' } })
  t.match(preflight.headers['access-control-allow-headers'], /X-Auth-Token/, 'the custom header is allowed cross-origin')
  t.equal(preflight.headers['access-control-allow-origin'], '*')
})
