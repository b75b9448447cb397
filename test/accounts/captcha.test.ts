import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { buildTestApp } from '../helper.js'

// The CAPTCHA hook point (accounts.captcha). A local node:http server stands
// in for the operator's webhook (which would ask reCAPTCHA, hCaptcha or
// Turnstile): it accepts the token "human" and nothing else.

async function webhook (t: Test, answer: (token: string) => { status: number, body: unknown }) {
  const seen: unknown[] = []
  const server = createServer((req, res) => {
    let raw = ''
    req.on('data', (c) => { raw += c })
    req.on('end', () => {
      const body = JSON.parse(raw) as { token: string }
      seen.push(body)
      const { status, body: out } = answer(body.token)
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(out))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => { server.close(resolve); server.closeAllConnections() }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/verify`, seen }
}

const forgot = (app: Awaited<ReturnType<typeof buildTestApp>>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/wp-json/api/v1/password/forgot', payload: { username_or_email: 'nobody-here' }, headers })

t.test('with a webhook configured, only a token it accepts gets through', async (t) => {
  const hook = await webhook(t, (token) => token === 'human' ? { status: 200, body: { success: true } } : { status: 200, body: { success: false } })
  const app = await buildTestApp(t, { accounts: { captcha: { webhook: hook.url, header: 'X-Captcha' } } })
  const none = await forgot(app)
  t.equal(none.statusCode, 403)
  t.equal(none.json().code, 'GW_ERR_CAPTCHA_FAILED')
  t.equal(hook.seen.length, 0, 'no token: the webhook is not even asked')
  t.equal((await forgot(app, { 'x-captcha': 'robot' })).json().code, 'GW_ERR_CAPTCHA_FAILED')
  t.equal((await forgot(app, { 'x-captcha': 'human' })).statusCode, 202)
  t.match(hook.seen[1], { token: 'human', action: 'password_forgot', ip: '127.0.0.1' })
  const register = await app.inject({ method: 'POST', url: '/wp-json/api/v1/register', payload: { username: 'x', email: 'x@example.test' } })
  t.equal(register.json().code, 'GW_ERR_CAPTCHA_FAILED', 'registration is checked too')
})

t.test('a webhook that fails or says nothing useful: closed', async (t) => {
  const hook = await webhook(t, (token) => token === 'error' ? { status: 500, body: {} } : { status: 200, body: 'yes' })
  const app = await buildTestApp(t, { accounts: { captcha: { webhook: hook.url } } })
  t.equal((await forgot(app, { 'x-captcha-token': 'error' })).json().code, 'GW_ERR_CAPTCHA_UNAVAILABLE')
  t.equal((await forgot(app, { 'x-captcha-token': 'odd' })).json().code, 'GW_ERR_CAPTCHA_FAILED', 'a 2xx without {success: true}')
  const gone = await buildTestApp(t, { accounts: { captcha: { webhook: 'http://127.0.0.1:9/verify', timeoutMs: 500 } } })
  const res = await forgot(gone, { 'x-captcha-token': 'human' })
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GW_ERR_CAPTCHA_UNAVAILABLE')
})

t.test('without a webhook, no header is needed', async (t) => {
  const app = await buildTestApp(t)
  t.equal((await forgot(app)).statusCode, 202)
})
