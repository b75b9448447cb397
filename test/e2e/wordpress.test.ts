import t from 'tap'
import { AssertionSigner } from '../../src/bridge/assertion.js'
import { BRIDGE_SECRET, buildTestApp, login, USERS, WP_URL } from '../helper.js'

// Through the gateway to the real test WordPress: WordPress acts as the
// caller the token names, and its own capabilities decide.

const body = async (res: Response) => await res.json() as { code: string, id: number }

const config = {
  policy: {
    default: 'authenticated',
    rules: [
      { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' },
      { route: '/wp/v2/categories*', methods: ['GET'], access: 'public' }
    ]
  }
}

t.test('posts: the right role creates, reads and updates; the wrong role is refused by WordPress', async (t) => {
  const app = await buildTestApp(t, config)
  const editor = await login(app, 'editor')
  const author = await login(app, 'author')
  const subscriber = await login(app, 'subscriber')
  const title = `gateway e2e ${Date.now()}`

  const created = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${editor}` }, payload: { title, status: 'publish', content: 'hello' } })
  t.equal(created.statusCode, 201, created.body)
  const post = created.json()
  t.equal(post.author, USERS.editor.id, 'WordPress records the editor as author')

  const read = await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts/${post.id}` })
  t.equal(read.statusCode, 200, 'published posts are public')
  t.equal(read.json().title.rendered, title)

  const updated = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/posts/${post.id}`, headers: { authorization: `Bearer ${editor}` }, payload: { title: title + ' (edited)' } })
  t.equal(updated.statusCode, 200)
  t.equal(updated.json().title.raw, title + ' (edited)')

  const viaMethodOverride = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/posts/${post.id}?_method=PUT`, headers: { authorization: `Bearer ${editor}` }, payload: { excerpt: 'put' } })
  t.equal(viaMethodOverride.statusCode, 200, '_method=PUT is authorised as PUT and WordPress agrees')

  const notYours = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/posts/${post.id}`, headers: { authorization: `Bearer ${author}` }, payload: { title: 'hijacked' } })
  t.equal(notYours.statusCode, 403)
  t.equal(notYours.json().code, 'rest_cannot_edit', 'an author cannot edit an editor\'s post')

  const noCapability = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${subscriber}` }, payload: { title: 'nope' } })
  t.equal(noCapability.statusCode, 403)
  t.equal(noCapability.json().code, 'rest_cannot_create')

  const anonymous = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', payload: { title: 'nope' } })
  t.equal(anonymous.statusCode, 401)
  t.equal(anonymous.json().code, 'GW_ERR_TOKEN_MISSING', 'writes need a token: the gateway answers before WordPress')

  const me = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me?context=edit', headers: { authorization: `Bearer ${subscriber}` } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().id, USERS.subscriber.id)
  t.same(me.json().roles, ['subscriber'])
})

t.test('drafts are visible only to their owner (and editors)', async (t) => {
  const app = await buildTestApp(t, config)
  const author = await login(app, 'author')
  const contributor = await login(app, 'contributor')
  const editor = await login(app, 'editor')
  const draft = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${author}` }, payload: { title: `draft ${Date.now()}`, status: 'draft' } })
  t.equal(draft.statusCode, 201)
  const id = draft.json().id as number

  const own = await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts/${id}?context=edit`, headers: { authorization: `Bearer ${author}` } })
  t.equal(own.statusCode, 200, 'the owner reads the draft')
  const ownList = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?status=draft&author=' + USERS.author.id, headers: { authorization: `Bearer ${author}` } })
  t.ok(ownList.json().some((p: { id: number }) => p.id === id), 'the owner lists the draft')

  const other = await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts/${id}`, headers: { authorization: `Bearer ${contributor}` } })
  t.equal(other.statusCode, 403, 'another contributor cannot')
  const anon = await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts/${id}` })
  t.equal(anon.statusCode, 401, 'anonymous callers cannot')
  t.equal(anon.json().code, 'rest_forbidden')
  const anonList = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?status=draft' })
  t.equal(anonList.statusCode, 400, 'nor list drafts')
  const editorRead = await app.inject({ method: 'GET', url: `/wp-json/wp/v2/posts/${id}`, headers: { authorization: `Bearer ${editor}` } })
  t.equal(editorRead.statusCode, 200, 'an editor can (edit_others_posts)')
})

t.test('public and protected routes', async (t) => {
  const app = await buildTestApp(t, config)
  const list = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts' })
  t.equal(list.statusCode, 200)
  t.ok(Array.isArray(list.json()))
  const users = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users' })
  t.equal(users.statusCode, 401)
  t.equal(users.json().code, 'GW_ERR_TOKEN_MISSING')
  const aliased = await app.inject({ method: 'GET', url: '/index.php?rest_route=/wp/v2/users' })
  t.equal(aliased.statusCode, 401, 'the same route under another alias is protected too')
  const index = await app.inject({ method: 'GET', url: '/wp-json/' })
  t.equal(index.statusCode, 401, 'the index follows the default')
  // WordPress sees the client's Host: its own site address is served, any other is redirected there.
  const site = await app.inject({ method: 'GET', url: '/', headers: { host: new URL(WP_URL).host } })
  t.equal(site.statusCode, 200, 'non-REST paths pass through')
  t.match(site.headers['content-type'], /text\/html/)
  const elsewhere = await app.inject({ method: 'GET', url: '/', headers: { host: 'public.example' } })
  t.equal(elsewhere.statusCode, 301, 'WordPress itself redirects a foreign host (redirect_canonical)')
})

t.test('identity headers from clients never reach WordPress', async (t) => {
  const app = await buildTestApp(t, { policy: { rules: [{ route: '/wp/v2/users/me', access: 'public' }] } })
  // A correctly signed assertion claiming the administrator: only the gateway may speak for callers.
  const forged = new AssertionSigner(Buffer.from(BRIDGE_SECRET)).sign({ sub: String(USERS.admin.id), via: 'jwt', mth: 'GET', rte: '/wp/v2/users/me' })
  for (const header of ['x-wp-gateway-assertion', 'X-WP-Gateway-Assertion']) {
    const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { [header]: forged } })
    t.equal(res.statusCode, 401, `${header}: anonymous to WordPress`)
    t.equal(res.json().code, 'rest_not_logged_in', `${header}: WordPress saw no user`)
  }
  // Spellings PHP would read as the same header are refused before anything else.
  for (const header of ['x_wp_gateway_assertion', 'X_WP_GATEWAY_ASSERTION', 'X.WP.Gateway.Assertion']) {
    const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { [header]: forged } })
    t.equal(res.json().code, 'GW_ERR_HEADER_REFUSED', header)
  }
  const editor = await login(app, 'editor')
  const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${editor}`, 'x-wp-gateway-assertion': forged } })
  t.equal(res.json().id, USERS.editor.id, 'the token decides, not the forged header')
})

t.test('WordPress reached directly refuses forged or missing assertions (bridge)', async (t) => {
  const signer = new AssertionSigner(Buffer.from(BRIDGE_SECRET))
  const wrong = new AssertionSigner(Buffer.from('not-the-bridge-secret-not-the-bridge-secret'))
  const get = (path: string, assertion?: string) => fetch(WP_URL + path, { headers: assertion === undefined ? {} : { 'x-wp-gateway-assertion': assertion } })

  const none = await get('/wp-json/wp/v2/users/me')
  t.equal(none.status, 401)
  t.equal((await body(none)).code, 'gateway_assertion_required')

  const forged = await get('/wp-json/wp/v2/users/me', wrong.sign({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/me' }))
  t.equal(forged.status, 401)
  t.equal((await body(forged)).code, 'gateway_assertion_invalid')

  const expired = await get('/wp-json/wp/v2/users/me', signer.sign({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/me' }, Math.floor(Date.now() / 1000) - 60))
  t.equal((await body(expired)).code, 'gateway_assertion_invalid', 'an old assertion cannot be replayed')

  // Authorised for one route, dispatched by WordPress to another: refused inside WordPress.
  const rebound = await get('/wp-json/wp/v2/users/me', signer.sign({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/posts' }))
  t.equal(rebound.status, 403)
  t.equal((await body(rebound)).code, 'gateway_route_mismatch')
  const remethod = await fetch(WP_URL + '/wp-json/wp/v2/posts/1?_method=DELETE', { headers: { 'x-wp-gateway-assertion': signer.sign({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/posts/1' }) } })
  t.equal((await body(remethod)).code, 'gateway_route_mismatch')

  const genuine = await get('/wp-json/wp/v2/users/me', signer.sign({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/me' }))
  t.equal(genuine.status, 200, 'the control: a genuine assertion works')
  t.equal((await body(genuine)).id, 1)

  // The bridge's login check: one answer whether the user exists or not, but
  // for the account the login names, which the gateway counts failures
  // against and never shows a client.
  const authenticate = (login: string) => fetch(WP_URL + '/wp-json/gateway-bridge/v1/authenticate', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-wp-gateway-assertion': signer.sign({ via: 'gateway', mth: 'POST', rte: '/gateway-bridge/v1/authenticate' }) },
    body: JSON.stringify({ login, password: 'wrong-password' })
  })
  const [wrongPassword, unknownUser] = await Promise.all([authenticate('editor'), authenticate('no-such-user')])
  t.equal(wrongPassword.status, 401)
  t.equal(unknownUser.status, 401)
  type Failure = { data: { account: string } } & Record<string, unknown>
  const [known, unknown] = [await wrongPassword.json() as Failure, await unknownUser.json() as Failure]
  t.same({ ...known, data: { ...known.data, account: 'x' } }, { ...unknown, data: { ...unknown.data, account: 'x' } }, 'identical failures')
  t.same([known.data.account, unknown.data.account], ['user:2', 'unknown:no-such-user'], 'each naming its account')

  const internal = await get('/wp-json/gateway-bridge/v1/users/1', signer.sign({ sub: '1', via: 'jwt', mth: 'GET', rte: '/gateway-bridge/v1/users/1' }))
  t.equal(internal.status, 403, 'bridge routes answer only the gateway itself')
})
