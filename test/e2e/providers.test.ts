import t from 'tap'
import { randomBytes } from 'node:crypto'
import { SignJWT, base64url } from 'jose'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, login, startUpstream, usersToDelete } from '../helper.js'
import { startKeyServer, startOidcProvider, type KeyServer } from '../fixtures/identity-providers.js'

// Provider tokens through the whole gateway (issue 12 §5): a Keycloak-shaped
// issuer on a local key server and oidc-provider, the real test WordPress
// with the bridge provisioning users, and WordPress's own capabilities
// deciding what each provisioned user may do.

const now = () => Math.floor(Date.now() / 1000)

function keycloak (ks: KeyServer, over: Record<string, unknown> = {}) {
  return {
    issuer: `${ks.url}/realms/main`,
    discovery: true,
    audiences: ['wordpress'],
    authorizedParties: ['wp-app'],
    roles: { claim: 'realm_access.roles', map: { 'wp-author': 'author' } },
    users: { create: true, linkByEmail: false, updateRoles: true },
    exchange: true,
    ...over
  }
}

/** A Keycloak-shaped access token for a person of its own. */
async function personToken (ks: KeyServer, claims: Record<string, unknown> = {}): Promise<string> {
  const id = randomBytes(5).toString('hex')
  const layout = { iss: `${ks.url}/realms/main`, aud: 'wordpress', azp: 'wp-app', sub: `kc-${id}`, typ: 'Bearer', iat: now(), exp: now() + 600 }
  const person = { email: `kc-${id}@idp.example`, email_verified: true, name: `KC ${id}`, preferred_username: `kc-${id}`, realm_access: { roles: ['offline_access'] } }
  return await ks.sign({ ...layout, ...person, ...claims })
}

const me = async (app: FastifyInstance, token: string) => await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me?context=edit', headers: { authorization: `Bearer ${token}` } })
const post = async (app: FastifyInstance, token: string) => await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}` }, payload: { title: `provider post ${Date.now()}`, status: 'publish' } })

t.test('first token makes a WordPress user with the mapped role, later ones find it, and WordPress\'s capabilities decide', async (t) => {
  const ks = await startKeyServer(t)
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { keycloak: keycloak(ks) } })
  const made = usersToDelete(t, app)
  let provisions = 0
  const real = app.bridge.provision.bind(app.bridge)
  app.bridge.provision = async (...args) => { provisions++; return await real(...args) }

  const sub = `kc-${randomBytes(5).toString('hex')}`
  const author = await personToken(ks, { sub, realm_access: { roles: ['wp-author', 'administrator'] } })
  const first = await me(app, author)
  t.equal(first.statusCode, 200, first.body)
  const id = made(first.json().id)
  t.same(first.json().roles, ['author'], 'the mapped role only: "administrator" from the token is not in the map and grants nothing')
  t.equal(provisions, 1)
  const fetches = ks.fetches

  t.equal((await me(app, author)).json().id, id, 'the same token again')
  t.equal(provisions, 1, 'no bridge call after the first request')
  t.equal(ks.fetches, fetches, 'no key fetch either')
  const later = await personToken(ks, { sub, realm_access: { roles: ['wp-author'] } })
  t.equal((await me(app, later)).json().id, id, 'a new token of the same person finds the same user')

  const published = await post(app, later)
  t.equal(published.statusCode, 201, 'an author may publish (WordPress decides)')
  t.equal(published.json().author, id, 'as the provisioned user')

  const plain = await personToken(ks)
  const subscriber = await me(app, plain)
  made(subscriber.json().id)
  t.same(subscriber.json().roles, ['subscriber'], 'no mapped role: the default')
  const refused = await post(app, plain)
  t.equal(refused.statusCode, 403, 'a subscriber may not create posts: WordPress refuses')
  t.equal(refused.json().code, 'rest_cannot_create')
})

t.test('creation off: an unknown person gets 403 GW_ERR_USER_NOT_PROVISIONED; an unverified email is not linked', async (t) => {
  const ks = await startKeyServer(t)
  const app = await buildTestApp(t, {
    auth: { methods: ['jwt', 'oidc'] },
    providers: { keycloak: keycloak(ks, { users: { create: false } }), linking: keycloak(ks, { issuer: `${ks.url}/realms/link`, users: { create: true, linkByEmail: true } }) }
  })
  const res = await me(app, await personToken(ks))
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'GW_ERR_USER_NOT_PROVISIONED')
  const unverified = await me(app, await personToken(ks, { iss: `${ks.url}/realms/link`, email: 'author@example.test', email_verified: false }))
  t.equal(unverified.statusCode, 403)
  t.equal(unverified.json().code, 'GW_ERR_EMAIL_NOT_VERIFIED', 'an existing user\'s email, unverified by the provider: not linked')
})

t.test('bad provider tokens get a stable error and never reach WordPress', async (t) => {
  const ks = await startKeyServer(t)
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { keycloak: keycloak(ks) } }, { env: { WORDPRESS_URL: upstream.url } })
  const good = { iss: `${ks.url}/realms/main`, aud: 'wordpress', azp: 'wp-app', sub: 'kc-x', iat: now(), exp: now() + 600 }
  const enc = (o: object) => base64url.encode(JSON.stringify(o))
  const cases: Array<[string, string, string]> = [
    ['wrong audience', await ks.sign({ ...good, aud: 'other-api' }), 'GW_ERR_TOKEN_INVALID'],
    ['another client (azp)', await ks.sign({ ...good, azp: 'other-app' }), 'GW_ERR_TOKEN_INVALID'],
    ['expired', await ks.sign({ ...good, iat: now() - 7200, exp: now() - 3600 }), 'GW_ERR_TOKEN_EXPIRED'],
    ['alg none', `${enc({ alg: 'none' })}.${enc(good)}.`, 'GW_ERR_TOKEN_INVALID'],
    ['HS256 signed with the public key', await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(new TextEncoder().encode(JSON.stringify(ks.published[0]!.jwk))), 'GW_ERR_TOKEN_INVALID'],
    ['an unconfigured issuer', await ks.sign({ ...good, iss: `${ks.url}/realms/other` }), 'GW_ERR_TOKEN_INVALID']
  ]
  for (const [what, token, code] of cases) {
    const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, what)
    t.equal(res.json().code, code, what)
    t.match(res.headers['www-authenticate'], /^Bearer/, what)
  }
  t.equal(upstream.requests.length, 0, 'WordPress saw none of them')
})

t.test('a provider whose keys cannot be had: its tokens get 503 GW_ERR_PROVIDER_UNAVAILABLE, other methods keep working', async (t) => {
  const ks = await startKeyServer(t)
  ks.up = false
  // oidc first: it must answer "not responsible" for the gateway's own tokens, without a fetch.
  const app = await buildTestApp(t, { auth: { methods: ['oidc', 'jwt'] }, providers: { keycloak: keycloak(ks, { jwks: { timeoutMs: 500 } }) } })
  const res = await me(app, await personToken(ks))
  t.equal(res.statusCode, 503)
  t.equal(res.json().code, 'GW_ERR_PROVIDER_UNAVAILABLE')
  const own = await me(app, await login(app, 'editor'))
  t.equal(own.statusCode, 200, 'the gateway\'s own tokens are unaffected')
})

t.test('token exchange (RFC 8693): a provider token for the gateway\'s own pair, which then refreshes', async (t) => {
  const ks = await startKeyServer(t)
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { keycloak: keycloak(ks), noexchange: keycloak(ks, { issuer: `${ks.url}/realms/other`, exchange: false }) } })
  const made = usersToDelete(t, app)
  const exchange = async (subjectToken: string, type = 'urn:ietf:params:oauth:token-type:access_token') => await app.inject({
    method: 'POST',
    url: '/wp-json/api/v1/token',
    payload: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: subjectToken, subject_token_type: type }
  })
  const res = await exchange(await personToken(ks, { realm_access: { roles: ['wp-author'] } }))
  t.equal(res.statusCode, 200, res.body)
  const pair = res.json()
  t.equal(pair.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
  t.equal(pair.token_type, 'Bearer')
  t.equal(res.headers['cache-control'], 'no-store')
  const who = await me(app, pair.access_token)
  t.equal(who.statusCode, 200, 'the gateway\'s own access token calls WordPress')
  made(who.json().id)
  t.same(who.json().roles, ['author'])
  const refreshed = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: pair.refresh_token } })
  t.equal(refreshed.statusCode, 200, 'and the refresh token refreshes')

  const bad = await exchange(await personToken(ks, { aud: 'other-api' }))
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().error, 'invalid_grant')
  const notAllowed = await exchange(await personToken(ks, { iss: `${ks.url}/realms/other` }))
  t.equal(notAllowed.json().error, 'invalid_grant', 'a provider without exchange: true')
  const wrongType = await exchange(await personToken(ks), 'urn:ietf:params:oauth:token-type:saml2')
  t.equal(wrongType.json().error, 'invalid_request')
})

t.test('oidc-provider\'s JWT access tokens call WordPress as a provisioned user', async (t) => {
  const op = await startOidcProvider(t)
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { op: { issuer: op.issuer, discovery: true, audiences: ['wordpress'], typ: 'at+jwt' } } })
  const made = usersToDelete(t, app)
  const res = await me(app, await op.accessToken())
  t.equal(res.statusCode, 200, res.body)
  made(res.json().id)
  t.same(res.json().roles, ['subscriber'])
  t.equal((await me(app, await op.accessToken())).json().id, res.json().id, 'a second token of the same subject: the same user')
})

t.test('a cut-off of the user ends provider tokens issued before it, remembered or not', async (t) => {
  const ks = await startKeyServer(t)
  const app = await buildTestApp(t, { auth: { methods: ['jwt', 'oidc'] }, providers: { keycloak: keycloak(ks) } })
  const made = usersToDelete(t, app)
  const sub = `kc-${randomBytes(5).toString('hex')}`
  const before = await personToken(ks, { sub, iat: now() - 5 })
  const first = await me(app, before)
  t.equal(first.statusCode, 200, first.body)
  const id = made(first.json().id)
  const admin = await login(app, 'admin')
  const revoke = await app.inject({ method: 'POST', url: `/_gateway/admin/users/${id}/revoke`, headers: { authorization: `Bearer ${admin}` } })
  t.equal(revoke.statusCode, 200, revoke.body)
  const after = await me(app, before)
  t.equal(after.statusCode, 401, 'the remembered token is refused after the cut-off')
  t.equal(after.json().code, 'GW_ERR_TOKEN_REVOKED')
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const fresh = await me(app, await personToken(ks, { sub }))
  t.equal(fresh.statusCode, 200, 'a token the provider issued after it works')
  t.equal(fresh.json().id, id)
})
