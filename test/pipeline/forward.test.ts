import t, { type Test } from 'tap'
import { createHmac } from 'node:crypto'
import { BRIDGE_SECRET, buildTestApp, startUpstream } from '../helper.js'

const user = { id: 7, login: 'ed', email: 'ed@example.test', display_name: 'Ed', roles: ['editor'] }

function verifyAssertion (t: Test, value: string | string[] | undefined): Record<string, unknown> {
  t.type(value, 'string', 'one assertion header')
  const [h, p, s] = String(value).split('.')
  t.equal(createHmac('sha256', BRIDGE_SECRET).update(`${h}.${p}`).digest('base64url'), s, 'signed with BRIDGE_SECRET')
  t.same(JSON.parse(Buffer.from(h!, 'base64url').toString()), { alg: 'HS256', typ: 'JWT' })
  return JSON.parse(Buffer.from(p!, 'base64url').toString())
}

t.test('what WordPress receives: no client credentials, one fresh assertion, the request as sent', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url } })
  const { token } = await app.accessTokens.issue(user, 'test-session')
  const res = await app.inject({
    method: 'POST',
    url: '/wp-json/wp/v2/posts/12?_method=PUT&search=a+b&x=%27',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-wp-gateway-assertion': 'forged',
      'X-WP-Gateway-User': '1',
      'proxy-authorization': 'Basic eDp5',
      'x-original-url': '/wp-admin/',
      'x-forwarded-proto': 'https',
      x_custom_header: 'dropped',
      'x-wp-nonce': 'kept',
      host: 'gateway.example',
      cookie: 'kept=1'
    },
    payload: { title: 'streamed body' }
  })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { upstream: true }, 'the answer comes back')
  t.equal(upstream.requests.length, 1)
  const seen = upstream.requests[0]!
  t.equal(seen.method, 'POST')
  t.equal(seen.url, '/wp-json/wp/v2/posts/12?_method=PUT&search=a+b&x=%27', 'path and query exactly as the gateway judged them')
  t.equal(seen.body, JSON.stringify({ title: 'streamed body' }))
  for (const name of Object.keys(seen.headers)) {
    t.notOk(/^(authorization|proxy-authorization|x[-_]wp[-_]gateway[-_](?!assertion$).*|x_.*)$/i.test(name), `${name} is not a client credential`)
  }
  t.equal(seen.rawHeaders.filter((h) => /^x[-_]wp[-_]gateway[-_]assertion$/i.test(h)).length, 1, 'exactly one assertion')
  t.equal(seen.headers.host, 'gateway.example', 'WordPress sees the public host')
  t.equal(seen.headers['x-wp-nonce'], 'kept')
  t.equal(seen.headers['x-original-url'], undefined, 'IIS\'s original URL never reaches WordPress')
  t.equal(seen.headers['x-forwarded-proto'], 'http', 'the scheme is the gateway\'s word, not the client\'s')
  t.equal(seen.headers.x_custom_header, undefined, 'names PHP would rewrite are dropped')
  t.equal(seen.headers.cookie, 'kept=1')
  const claims = verifyAssertion(t, seen.headers['x-wp-gateway-assertion'])
  t.match(claims, { iss: 'wp-auth-gateway', aud: 'wordpress-bridge', sub: '7', via: 'jwt', mth: 'PUT', rte: '/wp/v2/posts/12' })
  t.ok((claims.exp as number) - (claims.iat as number) <= 30, 'short-lived')
})

t.test('public requests carry an anonymous assertion; site paths one that allows no REST request', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  await app.inject({ method: 'GET', url: '/?rest_route=/WP/v2/Posts/' })
  const claims = verifyAssertion(t, upstream.requests[0]!.headers['x-wp-gateway-assertion'])
  t.notOk('sub' in claims, 'no user')
  t.match(claims, { via: 'none', mth: 'GET', rte: '/wp/v2/posts' })

  await app.inject({ method: 'GET', url: '/wp-admin/', headers: { 'x-wp-gateway-assertion': 'forged', cookie: 'wordpress_logged_in=abc' } })
  const site = verifyAssertion(t, upstream.requests[1]!.headers['x-wp-gateway-assertion'])
  t.same(Object.keys(site).sort(), ['aud', 'exp', 'iat', 'iss', 'mth', 'via'], 'no user, no route: the forged one is gone')
  t.match(site, { via: 'none', mth: 'GET' })
  t.equal(upstream.requests[1]!.headers.cookie, 'wordpress_logged_in=abc', 'wp-admin cookies pass')
})

t.test('header spellings PHP reads as the gateway\'s own are refused, and reach nobody', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  const spellings: Array<[string, string]> = [
    ['X.WP.Gateway.Assertion', 'forged'],
    ['x_wp_gateway_assertion', 'forged'],
    ['X_WP_Gateway_User', '1'],
    ['x_http_method_override', 'DELETE'],
    ['X.HTTP.Method.Override', 'DELETE'],
    ['Content.Type', 'application/json'],
    ['content_type', 'application/json']
  ]
  for (const [name, value] of spellings) {
    const res = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: { [name]: value }, payload: 'x' })
    t.equal(res.statusCode, 400, name)
    t.equal(res.json().code, 'GW_ERR_HEADER_REFUSED', name)
  }
  // Over a socket: the same header twice, as no HTTP client library sends it.
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { connect } = await import('node:net')
  const twice = await new Promise<string>((resolve, reject) => {
    const socket = connect((app.server.address() as { port: number }).port, '127.0.0.1', () => {
      socket.end('GET /wp-json/wp/v2/posts HTTP/1.1\r\nHost: x\r\nX-WP-Nonce: a\r\nx-wp-nonce: b\r\nConnection: close\r\n\r\n')
    })
    let data = ''
    socket.on('data', (c) => { data += c.toString() })
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
  })
  t.match(twice, /"code":"GW_ERR_HEADER_REFUSED"/, 'headers WordPress reads once may come once')
  t.equal(upstream.requests.length, 0, 'none reached WordPress')
  // Authorization_ is HTTP_AUTHORIZATION_ to PHP, a variable of its own: only dropped.
  const control = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { 'x-custom_thing': '1', Authorization_: 'Bearer x' } })
  t.equal(control.statusCode, 200, 'the control: other odd names are only dropped')
  t.equal(upstream.requests[0]!.headers['x-custom_thing'], undefined)
  t.equal(upstream.requests[0]!.headers.authorization_, undefined)
})

t.test('form and multipart bodies reach WordPress byte for byte, boundary included', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  const multipart = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: text/plain\r\n\r\nhello \u00e9\r\n--XyZ--\r\n'
  await app.inject({ method: 'POST', url: '/wp-json/wp/v2/media', headers: { 'content-type': 'multipart/form-data; boundary=XyZ' }, payload: multipart })
  await app.inject({ method: 'POST', url: '/wp-login.php', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }, payload: 'log=a&pwd=b%26c' })
  t.equal(upstream.requests[0]!.headers['content-type'], 'multipart/form-data; boundary=XyZ')
  t.equal(upstream.requests[0]!.body, multipart)
  t.equal(upstream.requests[1]!.headers['content-type'], 'application/x-www-form-urlencoded; charset=UTF-8')
  t.equal(upstream.requests[1]!.body, 'log=a&pwd=b%26c')
})

t.test('an unreachable WordPress is a 502 with a stable code', async (t) => {
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: 'http://127.0.0.1:1' } })
  const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' })
  t.equal(res.statusCode, 502)
  t.equal(res.json().code, 'GW_ERR_UPSTREAM_UNAVAILABLE')
})

t.test('oversized bodies and headers are refused with stable codes', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { server: { bodyLimit: 2048 }, policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`

  const declared = await fetch(`${base}/wp-json/wp/v2/media`, { method: 'POST', body: 'x'.repeat(5000), headers: { 'content-type': 'application/octet-stream' } })
  t.equal(declared.status, 413)
  t.equal((await declared.json() as { code: string }).code, 'GW_ERR_BODY_TOO_LARGE')

  // Chunked: no Content-Length, so the limit is enforced while streaming.
  const chunks = new ReadableStream({
    start (controller) {
      for (let i = 0; i < 5; i++) controller.enqueue(new TextEncoder().encode('y'.repeat(1000)))
      controller.close()
    }
  })
  const streamed = await fetch(`${base}/wp-json/wp/v2/media`, { method: 'POST', body: chunks, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit)
  t.equal(streamed.status, 413)
  t.equal((await streamed.json() as { code: string }).code, 'GW_ERR_BODY_TOO_LARGE')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(upstream.requests.length, 0, 'no complete oversized body reached WordPress')

  const small = await fetch(`${base}/wp-json/wp/v2/media`, { method: 'POST', body: 'z'.repeat(1000) })
  t.equal(small.status, 200, 'the control: a body under the limit goes through')

  const { connect } = await import('node:net')
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect((app.server.address() as { port: number }).port, '127.0.0.1', () => {
      socket.write(`GET /wp-json/wp/v2/posts HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
    })
    let data = ''
    socket.on('data', (c) => { data += c.toString() })
    socket.on('close', () => resolve(data))
    socket.on('error', reject)
  })
  t.match(answer, /^HTTP\/1\.1 431 /)
  t.match(answer, /"code":"GW_ERR_HEADERS_TOO_LARGE"/)
  t.equal(upstream.requests.length, 1, 'only the control reached WordPress')
})
