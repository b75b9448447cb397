import t from 'tap'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, login, startUpstream, usersToDelete } from '../helper.js'
import { startOpaqueProvider, type OpaqueProvider } from '../fixtures/identity-providers.js'

// Opaque provider tokens (issue 12 §2): checked at the provider's userinfo
// or introspection endpoint, here oidc-provider's real ones, with the real
// test WordPress provisioning the people they name.

const person = () => `op-${randomBytes(5).toString('hex')}`

function userinfoProvider (op: OpaqueProvider, over: Record<string, unknown> = {}) {
  return { issuer: op.issuer, audiences: ['wordpress'], opaque: { userinfo: op.userinfo, timeoutMs: 500 }, ...over }
}

const me = async (app: FastifyInstance, token: string) => await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me?context=edit', headers: { authorization: `Bearer ${token}` } })

t.test('userinfo: an opaque token calls WordPress as the provisioned user; its answer is kept, a bad token is refused', async (t) => {
  const op = await startOpaqueProvider(t)
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { op: userinfoProvider(op) } })
  const made = usersToDelete(t, app)
  const sub = person()
  const token = await op.accessToken(sub)

  const [first, concurrent] = await Promise.all([me(app, token), me(app, token)])
  t.equal(first.statusCode, 200, first.body)
  const id = made(first.json().id)
  t.equal(first.json().email, `${sub}@op.example`, 'the person userinfo names')
  t.same(first.json().roles, ['subscriber'])
  t.equal(concurrent.json().id, id)
  t.equal(op.calls['/me'], 1, 'two concurrent first requests share one userinfo call')

  t.equal((await me(app, token)).json().id, id)
  t.equal(op.calls['/me'], 1, 'a later request is answered from the cache: no userinfo call')
  t.equal((await me(app, await op.accessToken(sub))).json().id, id, 'another token of the same person: the same user')

  const bad = await me(app, randomBytes(32).toString('base64url'))
  t.equal(bad.statusCode, 401)
  t.equal(bad.json().code, 'GW_ERR_TOKEN_INVALID', 'userinfo refused it')
  const calls = op.calls['/me']
  t.equal((await me(app, 'wpgk_abc_def')).statusCode, 401)
  t.equal(op.calls['/me'], calls, 'the only opaque provider, without a prefix, is still never sent an API key')
})

t.test('introspection (RFC 7662): active tokens pass, with the client secret read from the environment; inactive ones are refused', async (t) => {
  const op = await startOpaqueProvider(t)
  const provider = {
    issuer: op.issuer,
    audiences: ['wordpress'],
    authorizedParties: ['app'],
    opaque: { introspection: { url: op.introspection, clientId: op.client.id, clientSecretEnv: 'OP_INTROSPECTION_SECRET' } }
  }
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { op: provider } }, { env: { OP_INTROSPECTION_SECRET: op.client.secret } })
  const made = usersToDelete(t, app)
  const res = await me(app, await op.accessToken(person()))
  t.equal(res.statusCode, 200, res.body)
  made(res.json().id)
  t.equal(op.calls['/token/introspection'], 1)
  const inactive = await me(app, randomBytes(32).toString('base64url'))
  t.equal(inactive.statusCode, 401, 'active: false')
  t.equal(inactive.json().code, 'GW_ERR_TOKEN_INVALID')

  const other = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { op: { ...provider, authorizedParties: ['another-app'] } } }, { env: { OP_INTROSPECTION_SECRET: op.client.secret } })
  const wrongClient = await me(other, await op.accessToken(person()))
  t.equal(wrongClient.statusCode, 401, 'a token issued to a client not in authorizedParties')
  t.equal(wrongClient.json().code, 'GW_ERR_TOKEN_INVALID')

  const badSecret = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { op: provider } }, { env: { OP_INTROSPECTION_SECRET: 'not-the-secret' } })
  const refused = await me(badSecret, await op.accessToken(person()))
  t.equal(refused.statusCode, 503, 'the provider refusing the gateway\'s own client is no fault of the token')
  t.equal(refused.json().code, 'GW_ERR_PROVIDER_UNAVAILABLE')
})

t.test('an endpoint that is down: 503 for its tokens, not remembered, while the gateway\'s own tokens work', async (t) => {
  const op = await startOpaqueProvider(t)
  // oidc first: the gateway's own JWTs must not be taken for opaque tokens.
  const app = await buildTestApp(t, { auth: { methods: ['oidc', 'jwt'] }, providers: { op: userinfoProvider(op) } })
  const made = usersToDelete(t, app)
  const token = await op.accessToken(person())
  op.up = false
  const down = await me(app, token)
  t.equal(down.statusCode, 503)
  t.equal(down.json().code, 'GW_ERR_PROVIDER_UNAVAILABLE')
  const own = await me(app, await login(app, 'editor'))
  t.equal(own.statusCode, 200, 'the gateway\'s own token is not sent to the provider')
  t.equal(op.calls['/me'], undefined)
  op.up = true
  const back = await me(app, token)
  t.equal(back.statusCode, 200, 'the failure was not kept')
  made(back.json().id)
})

t.test('prefixes route each token to its own provider only; the gateway\'s own credentials go to none', async (t) => {
  // Stands in for Google's and Facebook's userinfo endpoints, which nothing
  // local can replace: answers for tokens with its own prefix only.
  const seen: string[] = []
  const remote = createServer((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '')
    seen.push(`${req.url} ${token}`)
    if (req.url === '/google' && token.startsWith('ya29.')) res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ sub: `g-${token.slice(5)}`, email: `g-${token.slice(5)}@gmail.example`, email_verified: true, name: 'G' }))
    else res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end()
  })
  await new Promise<void>((resolve) => remote.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { remote.close(); remote.closeAllConnections() })
  const base = `http://127.0.0.1:${(remote.address() as AddressInfo).port}`
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, {
    auth: { methods: ['jwt', 'oidc'] },
    providers: {
      google: { issuer: 'https://accounts.google.com', audiences: ['client.apps.googleusercontent.com'], opaque: { userinfo: `${base}/google`, prefix: 'ya29.' } },
      facebook: { issuer: 'https://www.facebook.com', audiences: ['fb-app'], claims: { subject: 'id' }, opaque: { userinfo: `${base}/facebook`, prefix: 'EAA' } }
    }
  }, { env: { WORDPRESS_URL: upstream.url } })
  const fb = await me(app, 'EAAbadtoken')
  t.equal(fb.json().code, 'GW_ERR_TOKEN_INVALID')
  t.same(seen, ['/facebook EAAbadtoken'], 'a Facebook-prefixed token went to Facebook only')
  for (const token of ['other-token-value', 'wpgk_abc_def', 'wpag_admin_xyz']) {
    const res = await me(app, token)
    t.equal(res.statusCode, 401, token)
  }
  t.equal(seen.length, 1, 'a token no prefix matches, an API key, an admin token: sent nowhere')
  t.equal(upstream.requests.length, 0)
})
