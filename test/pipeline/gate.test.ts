import t from 'tap'
import { connect } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, startUpstream } from '../helper.js'

// The gate decides on the head where it can: a refused request is answered
// before its body is read, and every refusal has the gateway's shape.

async function raw (app: FastifyInstance, head: string, body = '', wait = 2000): Promise<{ answer: string, tookMs: number }> {
  await app.listen({ port: 0, host: '127.0.0.1' })
  const started = Date.now()
  return await new Promise((resolve, reject) => {
    const socket = connect((app.server.address() as { port: number }).port, '127.0.0.1', () => { socket.write(head + body) })
    let answer = ''
    const done = () => { socket.destroy(); resolve({ answer, tookMs: Date.now() - started }) }
    socket.on('data', (c) => {
      answer += c.toString()
      if (/\r\n\r\n[\s\S]*\}$/.test(answer)) done()
    })
    socket.on('close', done)
    socket.on('error', reject)
    setTimeout(done, wait)
  })
}

t.test('a protected route without credentials is refused on its headers, before the body is read', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url } })
  // 100 kB announced, 10 bytes sent: the answer must not wait for the rest.
  const { answer, tookMs } = await raw(app, 'POST /wp-json/wp/v2/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n', 'name=aaaaa')
  t.match(answer, /^HTTP\/1\.1 401 /, 'refused')
  t.match(answer, /"code":"GW_ERR_TOKEN_MISSING"/)
  t.ok(tookMs < 1500, `without waiting for the body (${tookMs} ms)`)
  t.equal(upstream.requests.length, 0)
})

t.test('a disabled route, by body or not, is refused on its headers', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public', rules: [{ route: '/wp/v2/settings*', access: 'deny' }] } }, { env: { WORDPRESS_URL: upstream.url } })
  const { answer, tookMs } = await raw(app, 'POST /wp-json/wp/v2/settings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000\r\n\r\n', '{"title":')
  t.match(answer, /"code":"GW_ERR_ROUTE_DISABLED"/)
  t.ok(tookMs < 1500, `at once (${tookMs} ms)`)
  t.equal(upstream.requests.length, 0)
})

t.test('the control: a POST form to the front controller is read whole, since its body may name the route', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  const { answer } = await raw(app, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 30\r\nConnection: close\r\n\r\n', 'rest_route=/wp/v2/posts&a=bbbb', 3000)
  t.match(answer, /^HTTP\/1\.1 200 /)
  t.equal(upstream.requests.length, 1)
  t.equal(upstream.requests[0]!.body, 'rest_route=/wp/v2/posts&a=bbbb', 'forwarded byte for byte')
})

t.test('a malformed escape in the path is the gateway\'s 400, not the framework\'s', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { default: 'public' } }, { env: { WORDPRESS_URL: upstream.url } })
  for (const url of ['/wp-json/wp/v2/posts/%zz', '/%E0%A4%A', '/wp-json/%']) {
    const res = await app.inject({ method: 'GET', url })
    t.equal(res.statusCode, 400, url)
    t.match(res.json(), { code: 'GW_ERR_ROUTE_AMBIGUOUS', data: { status: 400 } }, url)
  }
  t.equal(upstream.requests.length, 0)
})
