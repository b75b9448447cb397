import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, startUpstream } from '../helper.js'

const editorToken = async (app: FastifyInstance) => (await app.accessTokens.issue({ id: 2, login: 'editor', email: 'e@x', display_name: 'e', roles: ['editor'] }, 'sid-e')).token

// The authenticator chain as configured, rules that name methods, and the
// audit stage's one line per decision.

t.test('auth.methods decides which methods run, and a credential nobody claims is refused', async (t) => {
  const upstream = await startUpstream(t)
  const withJwt = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url } })
  const token = await withJwt.accessTokens.issue({ id: 3, login: 'author', email: 'a@x', display_name: 'a', roles: ['author'] }, 'sid-a')
  const me = (app: typeof withJwt) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${token.token}` } })
  t.equal((await me(withJwt)).statusCode, 200)
  const without = await buildTestApp(t, { auth: { methods: ['cookie'] } }, { env: { WORDPRESS_URL: upstream.url } })
  const refused = await me(without)
  t.equal(refused.statusCode, 401, 'with jwt disabled the gateway\'s own token is no credential here')
  t.equal(refused.json().code, 'GW_ERR_TOKEN_INVALID')
  t.equal(upstream.requests.length, 1, 'only the first reached WordPress')
})

t.test('a rule may accept only some methods', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { rules: [{ route: '/wp/v2/posts*', access: 'authenticated', authenticators: ['cookie'] }] } }, { env: { WORDPRESS_URL: upstream.url } })
  const token = await editorToken(app)
  const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'GW_ERR_AUTH_METHOD_REFUSED')
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/pages', headers: { authorization: `Bearer ${token}` } })).statusCode, 200, 'other routes take the token')
  t.equal(upstream.requests.filter((r) => r.url.startsWith('/wp-json/wp/v2/posts')).length, 0)
})

t.test('a rule naming a method that is not enabled stops the start', async (t) => {
  await t.rejects(buildTestApp(t, { auth: { methods: ['jwt'] }, policy: { rules: [{ route: '/x', access: 'authenticated', authenticators: ['cookie'] }] } }), { name: 'ConfigError', message: /policy\.rules\.0 \(\/x\): authenticators cookie are not enabled in auth\.methods/ })
})

t.test('a rule may only name methods that auth.methods enables', async (t) => {
  await t.rejects(buildTestApp(t, { policy: { rules: [{ route: '/x', access: 'authenticated', authenticators: ['apikey'] }] } }), { name: 'ConfigError', message: /authenticators apikey are not enabled in auth\.methods/ }, 'the default methods count when none are set')
})

t.test('no decision line at the default level: the hot path writes no log', async (t) => {
  const upstream = await startUpstream(t)
  const logs: string[] = []
  const app = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url }, logs })
  t.equal((await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users' })).statusCode, 401)
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' })
  t.same(logs.map((l) => JSON.parse(l)).filter((l) => l.decision !== undefined), [], 'audit.logLevel is debug unless set')
})

t.test('one audit line per decision at audit.logLevel: who, how, what, the outcome', async (t) => {
  const upstream = await startUpstream(t)
  const logs: string[] = []
  const app = await buildTestApp(t, { policy: { rules: [{ route: '/wp/v2/settings*', access: 'deny' }] }, audit: { logLevel: 'info' } }, { env: { WORDPRESS_URL: upstream.url }, logs })
  const token = await editorToken(app)
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?x=1', headers: { authorization: `Bearer ${token}` } })
  await app.inject({ method: 'POST', url: '/wp-json/wp/v2/settings', headers: { authorization: `Bearer ${token}` } })
  await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users' })
  await app.inject({ method: 'GET', url: '/_gateway/healthz' })
  const decisions = logs.map((l) => JSON.parse(l)).filter((l) => l.decision !== undefined).map((l) => l.decision)
  t.match(decisions.slice(-3), [
    { result: 'allowed', status: 200, route: '/wp/v2/posts', http_method: 'GET', via: 'jwt', user: 2, ms: Number, ip: '127.0.0.1' },
    { result: 'refused', status: 403, code: 'GW_ERR_ROUTE_DISABLED', route: '/wp/v2/settings', http_method: 'POST' },
    { result: 'refused', status: 401, code: 'GW_ERR_TOKEN_MISSING', route: '/wp/v2/users' }
  ])
  t.notOk(decisions.some((d) => d.action === '/_gateway/healthz'), 'health checks are not decisions')
  t.notOk(decisions[decisions.length - 1].via, 'an anonymous caller has no method')
})
