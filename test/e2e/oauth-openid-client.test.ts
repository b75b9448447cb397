import type { AddressInfo } from 'node:net'
import t from 'tap'
import * as oidc from 'openid-client'
import { buildTestApp, login, password, USERS } from '../helper.js'

// A real OAuth client library, over real HTTP: openid-client discovers the
// gateway through its RFC 8414 metadata, obtains tokens with the password and
// client_credentials grants, and calls WordPress with them.

t.test('openid-client discovers the gateway, gets tokens with both grants and calls WordPress', async (t) => {
  const app = await buildTestApp(t, {
    policy: {
      default: 'authenticated',
      rules: [{ route: '/wp/v2/posts', methods: ['POST'], access: 'authenticated', scopes: ['posts:write'] }, { route: '/wp/v2/users/me', methods: ['GET'], access: 'authenticated', scopes: ['profile'] }]
    }
  })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const admin = await login(app, 'admin')
  const made = await app.inject({ method: 'POST', url: '/_gateway/admin/clients', headers: { authorization: `Bearer ${admin}` }, payload: { name: 'openid-client', user_id: USERS.editor.id, grant_types: ['password', 'client_credentials', 'refresh_token'], scopes: ['posts:write', 'profile'] } })
  t.equal(made.statusCode, 201, made.body)
  const { client_id: clientId, client_secret: secret } = made.json()

  for (const [name, auth] of [['client_secret_basic', oidc.ClientSecretBasic(secret)], ['client_secret_post', oidc.ClientSecretPost(secret)]] as const) {
    // Plain HTTP on loopback: the library refuses it unless told.
    const config = await oidc.discovery(new URL(base), clientId, undefined, auth, { algorithm: 'oauth2', execute: [oidc.allowInsecureRequests] })
    t.equal(config.serverMetadata().issuer, base, `${name}: the issuer is the origin the client discovered`)

    const cc = await oidc.clientCredentialsGrant(config, { scope: 'posts:write' })
    t.equal(cc.token_type, 'bearer', `${name}: client_credentials`)
    t.equal(cc.scope, 'posts:write')
    t.equal(cc.refresh_token, undefined)
    const post = await oidc.fetchProtectedResource(config, cc.access_token, new URL(`${base}/wp-json/wp/v2/posts`), 'POST',
      JSON.stringify({ title: `openid-client ${name} ${Date.now()}`, status: 'draft' }), new Headers({ 'content-type': 'application/json' }))
    t.equal(post.status, 201, `${name}: WordPress created the post`)
    t.equal((await post.json() as { author: number }).author, USERS.editor.id, 'as the service user')

    const pw = await oidc.genericGrantRequest(config, 'password', { username: 'author', password: password('author'), scope: 'profile' })
    t.equal(pw.scope, 'profile', `${name}: password grant`)
    t.type(pw.refresh_token, 'string')
    const me = await oidc.fetchProtectedResource(config, pw.access_token, new URL(`${base}/wp-json/wp/v2/users/me`), 'GET')
    t.equal(me.status, 200)
    t.equal((await me.json() as { id: number }).id, USERS.author.id, 'WordPress answers as the user who gave the password')

    const refreshed = await oidc.refreshTokenGrant(config, pw.refresh_token!)
    t.not(refreshed.refresh_token, pw.refresh_token, `${name}: rotated`)
    const info = await oidc.tokenIntrospection(config, refreshed.access_token)
    t.match(info, { active: true, client_id: clientId, username: 'author', scope: 'profile' }, `${name}: introspection`)
    await oidc.tokenRevocation(config, refreshed.access_token)
    t.same(await oidc.tokenIntrospection(config, refreshed.access_token), { active: false }, `${name}: revoked`)
    // The library turns a 401 with a Bearer challenge into an error.
    const gone = await oidc.fetchProtectedResource(config, refreshed.access_token, new URL(`${base}/wp-json/wp/v2/users/me`), 'GET').then(() => undefined, (err: unknown) => err)
    t.ok(gone instanceof oidc.WWWAuthenticateChallengeError, `${name}: WordPress is out of reach with the revoked token`)
    t.equal((gone as oidc.WWWAuthenticateChallengeError).status, 401)

    const refused = await oidc.genericGrantRequest(config, 'password', { username: 'author', password: 'wrong' }).then(() => undefined, (err: unknown) => err)
    t.ok(refused instanceof oidc.ResponseBodyError, `${name}: the library reads the RFC error`)
    t.equal((refused as oidc.ResponseBodyError).error, 'invalid_grant')
  }
})
