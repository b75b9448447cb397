import t from 'tap'
import { Policy, refusal } from '../../src/pipeline/policy.js'
import { testConfig } from '../helper.js'
import { ConfigError } from '../../src/config/load.js'
import type { Identity } from '../../src/pipeline/authenticate/identity.js'

const who = (roles: string[], scopes?: string[]): Identity => ({ userId: '9', login: 'x', email: 'x@x', roles, method: 'jwt', via: 'jwt', ...(scopes ? { scopes } : {}) })
const policy = (p: object) => new Policy(testConfig({ policy: p }).policy)
const access = (pol: Policy, route: string, method = 'GET') => pol.decide(route, method).access

t.test('first matching rule wins; GET rules cover HEAD; prefixes and exact routes', async (t) => {
  const p = policy({
    default: 'deny',
    rules: [
      { route: '/wp/v2/posts', methods: ['GET'], access: 'public' },
      { route: '/wp/v2/posts*', access: 'authenticated' },
      { route: '/WP/V2/Pages/', access: 'public' }
    ]
  })
  t.equal(access(p, '/wp/v2/posts'), 'public')
  t.equal(access(p, '/wp/v2/posts', 'HEAD'), 'public')
  t.equal(access(p, '/wp/v2/posts', 'POST'), 'authenticated')
  t.equal(access(p, '/wp/v2/posts/5'), 'authenticated')
  t.equal(access(p, '/wp/v2/pages'), 'public', 'rule routes are case-folded and untrailingslashed')
  t.equal(access(p, '/wp/v2/pages/1'), 'deny', 'without * a rule is exact')
  t.equal(access(p, '/wc/v3/orders'), 'deny', 'the default')
})

t.test('ready-made modes', async (t) => {
  const all = policy({ mode: 'protect-all', default: 'public' })
  t.equal(access(all, '/wc/v3/orders'), 'authenticated', 'protect-all: every route, whatever the default says')
  const core = policy({ mode: 'protect-core' })
  t.equal(access(core, '/wp/v2/users'), 'authenticated', 'protect-core: core routes')
  t.equal(access(core, '/wc/v3/products'), 'public', 'protect-core: plugin routes stay open')
  const off = policy({ mode: 'disable-rest', rules: [{ route: '/myplugin/v1/status', methods: ['GET'], access: 'public' }] })
  t.equal(access(off, '/wp/v2/posts'), 'deny', 'disable-rest: everything off')
  t.equal(access(off, '/'), 'deny')
  t.equal(access(off, '/myplugin/v1/status'), 'public', 'except what the operator\'s own rules open')
  t.equal(access(policy({ mode: 'protect-all', index: 'open' }), '/'), 'public', 'index: open')
  t.equal(access(policy({ mode: 'protect-core', index: 'closed' }), '/'), 'authenticated', 'index: closed')
  t.equal(access(policy({ mode: 'protect-core' }), '/'), 'public', 'index unset: the mode decides')
})

t.test('roles, notRoles and scopes', async (t) => {
  const p = policy({
    rules: [
      { route: '/wp/v2/users*', access: 'authenticated', roles: ['administrator', 'editor'] },
      { route: '/wp/v2/comments*', access: 'authenticated', notRoles: ['subscriber'] },
      { route: '/wc/v3*', access: 'authenticated', scopes: ['shop:read'] }
    ]
  })
  const users = p.decide('/wp/v2/users', 'GET')
  t.equal(refusal(users, null), 'login')
  t.equal(refusal(users, who(['subscriber'])), 'role')
  t.equal(refusal(users, who(['author', 'editor'])), null, 'any one of the roles')
  const comments = p.decide('/wp/v2/comments', 'POST')
  t.equal(refusal(comments, who(['subscriber', 'author'])), 'role', 'any denied role refuses')
  t.equal(refusal(comments, who(['author'])), null)
  const shop = p.decide('/wc/v3/orders', 'GET')
  t.equal(refusal(shop, who(['administrator'])), 'scope', 'a token without scopes')
  t.equal(refusal(shop, who(['customer'], ['shop:read', 'x'])), null)
  t.equal(refusal(shop, who(['administrator'], ['shop:write'])), 'scope', 'scopes other than the rule\'s')
})

t.test('a narrowed credential acts only where a rule names its scopes', async (t) => {
  const p = policy({
    rules: [
      { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' },
      { route: '/wp/v2/media*', access: 'authenticated', scopes: ['media'] }
    ],
    default: 'authenticated'
  })
  const narrowed = who(['administrator'], ['media'])
  t.equal(refusal(p.decide('/wp/v2/media', 'POST'), narrowed), null)
  t.equal(refusal(p.decide('/wp/v2/users', 'DELETE'), narrowed), 'scope', 'not where no rule names a scope, whatever the roles')
  t.equal(refusal(p.decide('/wp/v2/posts', 'GET'), narrowed), 'scope', 'nor on public routes, as its user')
  t.equal(refusal(p.decide('/wp/v2/posts', 'GET'), null), null, 'which stay open to anyone')
  t.equal(refusal(p.decide('/wp/v2/users', 'DELETE'), who(['administrator'])), null, 'a credential without scopes is its whole user')
})

t.test('the view the bridge gets for _embed', async (t) => {
  const p = policy({ rules: [{ route: '/wp/v2/users*', access: 'authenticated', roles: ['editor'] }, { route: '/wp/v2/posts', methods: ['POST'], access: 'deny' }, { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' }] })
  t.same(p.embedView(null), { r: [['/gateway-bridge*', 0], ['/wp/v2/users*', 0], ['/wp/v2/posts*', 1]], d: 0 })
  t.same(p.embedView(who(['editor'])), { r: [['/gateway-bridge*', 0], ['/wp/v2/users*', 1], ['/wp/v2/posts*', 1]], d: 1 })
})

t.test('rules are validated at start, each problem naming its rule', async (t) => {
  try {
    testConfig({
      policy: {
        rules: [
          { route: '/ok*', access: 'public' },
          { route: '/wp/v2/users*', access: 'public', roles: ['editor'] },
          { route: '/a*b', access: 'deny' },
          { route: '/x', access: 'authenticated', roles: ['editor'], notRoles: ['editor'] },
          { route: '/y', access: 'authenticated', methods: ['FETCH'] }
        ]
      },
      cors: { origins: ['*'], credentials: true }
    })
    t.fail('expected a ConfigError')
  } catch (err) {
    const problems = (err as ConfigError).problems.join('\n')
    t.match(problems, /policy\.rules\.2\.route/, 'a * anywhere but the end')
    t.match(problems, /policy\.rules\.4\.methods\.0: must be one of GET, HEAD/)
  }
  try {
    testConfig({ policy: { rules: [{ route: '/wp/v2/users*', access: 'public', roles: ['editor'] }, { route: '/x', access: 'authenticated', roles: ['editor'], notRoles: ['editor'] }] }, cors: { origins: ['*'], credentials: true } })
    t.fail('expected a ConfigError')
  } catch (err) {
    t.same((err as ConfigError).problems, [
      'config policy.rules.0 (/wp/v2/users*): roles only apply to access: authenticated',
      'config policy.rules.1 (/x): editor is both in roles and notRoles',
      'config cors.credentials: browsers refuse credentials with origin *; list the origins instead'
    ])
  }
})
