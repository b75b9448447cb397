import t from 'tap'
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http'
import { connect, type AddressInfo } from 'node:net'
import { once } from 'node:events'
import { buildTestApp } from '../helper.js'

type Teardown = { teardown: (fn: () => unknown) => void }

// The forwarder drives undici's pool directly (src/pipeline/forward.ts): these
// tests hold it to what a proxy owes both sides, over real HTTP on loopback,
// against an upstream whose every answer the test writes itself.

const user = { id: 7, login: 'ed', email: 'ed@example.test', display_name: 'Ed', roles: ['editor'] }

async function upstreamServer (t: Teardown, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

async function gateway (t: Teardown, upstream: string): Promise<{ base: string, token: string }> {
  const app = await buildTestApp(t, { cors: { origins: ['https://app.example'] } }, { env: { WORDPRESS_URL: upstream } })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { token } = await app.accessTokens.issue(user, 'stream-session')
  return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, token }
}

t.test('the answer\'s head: repeated headers kept, hop-by-hop and WordPress\'s CORS headers dropped, the gateway\'s CORS added', async (t) => {
  const upstream = await upstreamServer(t, (_req, res) => {
    res.writeHead(201, [
      'Content-Type', 'application/json; charset=UTF-8',
      'Set-Cookie', 'a=1; Path=/',
      'Set-Cookie', 'b=2; Path=/',
      'Link', '<https://x.example/1>; rel="next"',
      'Link', '<https://x.example/0>; rel="prev"',
      'Access-Control-Allow-Origin', '*',
      'Access-Control-Allow-Credentials', 'true',
      'Keep-Alive', 'timeout=99',
      'Connection', 'keep-alive, X-Hop',
      'X-Hop', 'only for the first hop',
      'X-WP-Total', '12'
    ])
    res.end('{"ok":true}')
  })
  const { base, token } = await gateway(t, upstream)
  const res = await fetch(`${base}/wp-json/wp/v2/posts`, { headers: { authorization: `Bearer ${token}`, origin: 'https://app.example' } })
  t.equal(res.status, 201)
  t.same(await res.json(), { ok: true })
  t.same(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/'], 'both cookies')
  t.equal(res.headers.get('link'), '<https://x.example/1>; rel="next", <https://x.example/0>; rel="prev"', 'both links')
  t.equal(res.headers.get('x-wp-total'), '12')
  t.equal(res.headers.get('access-control-allow-origin'), 'https://app.example', 'the gateway\'s CORS answer, not WordPress\'s *')
  t.equal(res.headers.get('access-control-allow-credentials'), null, 'credentials not allowed by the gateway\'s config')
  t.equal(res.headers.get('vary'), 'Origin')
  t.equal(res.headers.get('x-hop'), null, 'a header the answer\'s Connection lists stays on its hop')
  t.not(res.headers.get('keep-alive'), 'timeout=99', 'the gateway\'s own keep-alive, not WordPress\'s')
})

t.test('HEAD and a large answer stream through whole; a slow client pauses WordPress instead of filling memory', async (t) => {
  const chunk = Buffer.alloc(64 * 1024, 'x')
  const chunks = 1024 // 64 MiB
  let sent = 0
  const upstream = await upstreamServer(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(chunk.length * chunks) })
    if (req.method === 'HEAD') { res.end(); return }
    sent = 0
    const more = () => {
      while (sent < chunks) {
        sent++
        if (!res.write(chunk)) { res.once('drain', more); return }
      }
      res.end()
    }
    more()
  })
  const { base, token } = await gateway(t, upstream)
  const head = await fetch(`${base}/wp-json/wp/v2/media/1`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } })
  t.equal(head.status, 200)
  t.equal(head.headers.get('content-length'), String(chunk.length * chunks), 'HEAD: the length, no body')

  // A client that reads nothing for a while: WordPress must wait for it.
  const { port } = new URL(base)
  let sentWhileStalled = 0
  const got = await new Promise<number>((resolve, reject) => {
    const req = httpRequest({ port, path: '/wp-json/wp/v2/media/1', headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.pause()
      setTimeout(() => {
        sentWhileStalled = sent
        let size = 0
        res.on('data', (c: Buffer) => { size += c.length })
        res.on('end', () => resolve(size))
        res.resume()
      }, 300)
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(got, chunk.length * chunks, 'every byte arrived')
  // Socket buffers on both hops hold a few MiB at most; without backpressure all 64 would have gone.
  t.ok(sentWhileStalled < chunks / 2, `WordPress had sent ${sentWhileStalled} of ${chunks} chunks while the client read nothing`)
})

t.test('a client that goes away mid-answer releases WordPress\'s connection; WordPress failing mid-answer cuts the client\'s', async (t) => {
  let upstreamClosed: () => void
  const closed = new Promise<void>((resolve) => { upstreamClosed = resolve })
  const upstream = await upstreamServer(t, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.write('first part\n')
    if (req.url!.includes('/fails')) {
      setTimeout(() => res.socket!.destroy(), 50)
      return
    }
    // Never ends by itself: only the client going away ends it.
    res.on('close', () => upstreamClosed())
  })
  const { base, token } = await gateway(t, upstream)
  const { port } = new URL(base)

  await new Promise<void>((resolve) => {
    const req = httpRequest({ port, path: '/wp-json/wp/v2/posts/endless', headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.once('data', () => { req.destroy(); resolve() })
    })
    req.end()
  })
  await t.resolves(Promise.race([closed, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('WordPress\'s answer was not abandoned')), 5000))]), 'the gateway abandoned WordPress\'s answer')

  const res = await fetch(`${base}/wp-json/wp/v2/posts/fails`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 200, 'the head had gone out')
  await t.rejects(res.text(), 'the client sees the answer cut, not a complete one')
})

t.test('a request body the upstream does not wait for: that connection closes after the answer', async (t) => {
  const upstream = await upstreamServer(t, (_req, res) => {
    // Answers at once, without reading the body.
    res.writeHead(413, { 'content-type': 'application/json', connection: 'close' })
    res.end('{"code":"too_big"}')
  })
  const { base, token } = await gateway(t, upstream)
  const { port } = new URL(base)
  const socket = connect(Number(port), '127.0.0.1')
  await once(socket, 'connect')
  // A declared length, only part of which is ever sent.
  socket.write(`POST /wp-json/wp/v2/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n` + 'y'.repeat(1000))
  let text = ''
  socket.on('data', (c: Buffer) => { text += c.toString() })
  await once(socket, 'close')
  t.match(text, /^HTTP\/1\.1 413/, 'WordPress\'s answer')
  t.match(text.toLowerCase(), /\r\nconnection: close\r\n/, 'and the connection is not kept for a next request')
})

t.test('Expect: 100-continue is answered by the gateway and the body still goes through', async (t) => {
  let received = ''
  const upstream = await upstreamServer(t, (req, res) => {
    req.on('data', (c: Buffer) => { received += c.toString() })
    req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ expect: req.headers.expect ?? null })) })
  })
  const { base, token } = await gateway(t, upstream)
  const { port } = new URL(base)
  const answer = await new Promise<{ status: number, body: string, continued: boolean }>((resolve, reject) => {
    let continued = false
    const req = httpRequest({ port, method: 'POST', path: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', expect: '100-continue', 'content-length': '13' } }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => resolve({ status: res.statusCode!, body, continued }))
    })
    req.on('continue', () => { continued = true; req.end('{"title":"x"}') })
    req.on('error', reject)
  })
  t.ok(answer.continued, 'the client was told to go on')
  t.equal(answer.status, 200)
  t.same(JSON.parse(answer.body), { expect: null }, 'WordPress gets no Expect: the gateway dealt with it')
  t.equal(received, '{"title":"x"}', 'the body arrived')
})
