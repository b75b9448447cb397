import t from 'tap'
import { Readable } from 'node:stream'
import { filteredEmbeds } from '../../src/pipeline/embed-filter.js'
import { withoutLoginCookies } from '../../src/pipeline/login-cookies.js'
import { Policy } from '../../src/pipeline/policy.js'
import type { Identity } from '../../src/pipeline/authenticate/identity.js'

// What leaves the gateway with `_embed`, and what reaches WordPress of the cookies.

const policy = new Policy({ mode: 'custom', default: 'authenticated', rules: [{ route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }, { route: '/wp/v2/users*', access: 'authenticated', roles: ['editor'] }] })
const editor: Identity = { userId: '2', login: 'editor', email: 'e@x', roles: ['editor'], method: 'jwt', via: 'jwt' }
const author = (id: number) => ({ id, name: 'a', avatar_urls: {}, _links: { self: [{ href: `http://site.example/wp-json/wp/v2/users/${id}` }] } })
const post = {
  id: 1,
  _embedded: {
    author: [author(1)],
    replies: [[{ id: 7, _links: { self: [{ href: 'http://site.example/?rest_route=/wp/v2/comments/7' }] } }]],
    'wp:term': [[{ id: 3, _links: { self: [{ href: 'http://site.example/wp-json/wp/v2/tags/3' }] } }]],
    up: [{ code: 'gateway_subrequest_forbidden', message: 'no', data: { status: 403 } }],
    odd: [{ id: 9, name: 'no self link' }]
  }
}
const run = async (body: unknown, identity: Identity | null) => JSON.parse((await filteredEmbeds(Readable.from([Buffer.from(JSON.stringify(body))]), policy, identity)).toString())

t.test('embedded resources the caller may not GET are replaced, the rest kept', async (t) => {
  const anonymous = await run([post], null)
  const e = anonymous[0]._embedded
  t.equal(e.author[0].code, 'GW_ERR_EMBED_FORBIDDEN', 'the author (a user) is not shown to an anonymous caller')
  t.notMatch(JSON.stringify(anonymous), /avatar_urls/)
  t.equal(e.replies[0][0].code, 'GW_ERR_EMBED_FORBIDDEN', 'comments need a login under the default, found by rest_route too')
  t.equal(e['wp:term'][0][0].code, 'GW_ERR_EMBED_FORBIDDEN')
  t.equal(e.up[0].code, 'gateway_subrequest_forbidden', 'WordPress\'s (or the bridge\'s) own errors stay')
  t.equal(e.odd[0].code, 'GW_ERR_EMBED_FORBIDDEN', 'a resource that cannot be identified is not shown')
  const asEditor = await run(post, editor)
  t.same(asEditor._embedded.author, [author(1)], 'the editor may read users: kept as it was')
  t.equal(asEditor._embedded.replies[0][0].id, 7)
  const enveloped = await run({ body: post, status: 200, headers: {} }, null)
  t.equal(enveloped.body._embedded.author[0].code, 'GW_ERR_EMBED_FORBIDDEN', 'inside an _envelope too')
  t.same((await filteredEmbeds(Readable.from([Buffer.from('not json')]), policy, null)).toString(), 'not json', 'a body that is no JSON embeds nothing')
})

t.test('login cookies leave, by their name as PHP reads it; others stay', async (t) => {
  const prefixes = ['wordpress_']
  t.equal(withoutLoginCookies('wordpress_logged_in_abc=1; cart=2', prefixes), 'cart=2')
  t.equal(withoutLoginCookies('wordpress.logged.in_abc=1;cart=2', prefixes), 'cart=2', 'PHP reads . as _')
  t.equal(withoutLoginCookies(' wordpress sec_abc=1; wp-settings-1=x', prefixes), 'wp-settings-1=x')
  t.equal(withoutLoginCookies('wordpress_logged_in_abc[x]=1; a=b', prefixes), 'a=b', 'an array cookie of that name too')
  t.equal(withoutLoginCookies('wordpress_abc=1', prefixes), undefined, 'nothing left: no header')
  t.equal(withoutLoginCookies('mylogin_x=1; wordpress_y=2', ['mylogin_', 'wordpress_']), undefined, 'renamed login cookies by configuration')
})
