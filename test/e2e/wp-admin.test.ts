import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, password, USERS, WP_URL } from '../helper.js'

// WordPress's own logins keep working through the gateway: wp-login.php
// cookies for wp-admin, and cookie + X-WP-Nonce for the block editor's REST
// calls, checked through the bridge.

const host = new URL(WP_URL).host

async function wpLogin (app: FastifyInstance): Promise<{ cookie: string, nonce: string }> {
  const res = await app.inject({
    method: 'POST',
    url: '/wp-login.php',
    headers: { host, 'content-type': 'application/x-www-form-urlencoded', cookie: 'wordpress_test_cookie=WP%20Cookie%20check' },
    payload: `log=editor&pwd=${password('editor')}&testcookie=1&redirect_to=%2Fwp-admin%2F`
  })
  t.equal(res.statusCode, 302, 'wp-login.php accepts the password and redirects')
  const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? [])
  const cookie = setCookies.map((c) => c.split(';')[0]).filter((c) => /^wordpress_/.test(c!)).join('; ')
  t.match(cookie, /wordpress_logged_in_[0-9a-f]+=/)
  const nonce = await app.inject({ method: 'GET', url: '/wp-admin/admin-ajax.php?action=rest-nonce', headers: { host, cookie } })
  t.equal(nonce.statusCode, 200, 'wp-admin answers through the gateway with the cookie')
  t.match(nonce.body, /^[0-9a-f]{10}$/)
  return { cookie, nonce: nonce.body }
}

t.test('the block editor: cookie + X-WP-Nonce', async (t) => {
  const app = await buildTestApp(t)
  const { cookie, nonce } = await wpLogin(app)
  const me = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me?context=edit', headers: { host, cookie, 'x-wp-nonce': nonce } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().id, USERS.editor.id)
  const draft = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: { host, cookie, 'x-wp-nonce': nonce }, payload: { title: 'from the block editor', status: 'draft' } })
  t.equal(draft.statusCode, 201, 'the editor saves a post')
  t.equal(draft.json().author, USERS.editor.id)

  const wrongNonce = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { host, cookie, 'x-wp-nonce': '0123456789' } })
  t.equal(wrongNonce.statusCode, 403)
  t.equal(wrongNonce.json().code, 'GW_ERR_COOKIE_INVALID')
  const tampered = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { host, cookie: cookie.replace(/(wordpress_logged_in_[0-9a-f]+=)[^;]{4}/, '$1XXXX'), 'x-wp-nonce': nonce } })
  t.equal(tampered.json().code, 'GW_ERR_COOKIE_INVALID')
  const noNonce = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { host, cookie } })
  t.equal(noNonce.statusCode, 401, 'a cookie without a nonce is no login, as in WordPress')
  t.equal(noNonce.json().code, 'GW_ERR_TOKEN_MISSING')
})

t.test('cookie logins for REST can be switched off; wp-login.php and xmlrpc.php switches', async (t) => {
  const app = await buildTestApp(t, { auth: { methods: ['jwt'] }, site: { xmlrpc: 'pass' } })
  const { cookie, nonce } = await wpLogin(app)
  const me = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { host, cookie, 'x-wp-nonce': nonce } })
  t.equal(me.statusCode, 401)
  t.equal(me.json().code, 'GW_ERR_TOKEN_MISSING')
  const xmlrpc = await app.inject({ method: 'POST', url: '/xmlrpc.php', headers: { host, 'content-type': 'text/xml' }, payload: '<?xml version="1.0"?><methodCall><methodName>demo.sayHello</methodName></methodCall>' })
  t.equal(xmlrpc.statusCode, 200, 'xmlrpc.php passes when configured to')
  // Debian's php-cli lacks the XML extension here, so WordPress answers with a fault: it answered.
  t.match(xmlrpc.body, /<methodResponse>/)

  const blocked = await buildTestApp(t, { site: { login: 'block' } })
  for (const url of ['/wp-login.php', '/wp-login.php?action=lostpassword', '/WP-Login.php', '/wp%2Dlogin.php']) {
    const res = await blocked.inject({ method: 'POST', url, headers: { host }, payload: { log: 'editor', pwd: 'x' } })
    t.equal(res.statusCode, 403, url)
    t.equal(res.json().code, 'GW_ERR_ROUTE_DISABLED', url)
  }
  const xmlrpcDefault = await blocked.inject({ method: 'POST', url: '/xmlrpc.php', headers: { host }, payload: '<x/>' })
  t.equal(xmlrpcDefault.statusCode, 403, 'xmlrpc.php is blocked by default')
})
