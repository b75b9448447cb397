import t from 'tap'
import { resolve } from '../../src/pipeline/resolve.js'
import { phpVariableName, readPhpParams } from '../../src/pipeline/php-query.js'

// What WordPress would dispatch each URL to, as the gateway must see it.
const cases: Array<[method: string, url: string, headers: Record<string, string>, expected: { kind: string, route?: string | null, method?: string } | string]> = [
  ['GET', '/wp-json/wp/v2/posts', {}, { kind: 'rest', route: '/wp/v2/posts', method: 'GET' }],
  ['GET', '/wp-json/wp/v2/posts/', {}, { kind: 'rest', route: '/wp/v2/posts' }],
  ['GET', '/wp-json/WP/V2/Users/ME', {}, { kind: 'rest', route: '/wp/v2/users/me' }],
  ['GET', '/WP-JSON/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/wp-json', {}, { kind: 'rest', route: '/' }],
  ['GET', '/wp-json/', {}, { kind: 'rest', route: '/' }],
  ['GET', '/index.php/wp-json/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest_route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/index.php?rest_route=%2Fwp%2Fv2%2Fusers', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/some/page?rest.route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest+route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest[route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest_route=/wp/v2/posts&rest_route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/wp-json/wp%2Fv2%2Fusers', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/wp%2Djson/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/wp-json/wp/v2/../v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/wp-json\\wp\\v2\\users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['POST', '/wp-json/wp/v2/posts/1?_method=DELETE', {}, { kind: 'rest', method: 'DELETE' }],
  ['POST', '/wp-json/wp/v2/posts/1?_method=delete', {}, { kind: 'rest', method: 'DELETE' }],
  ['POST', '/wp-json/wp/v2/posts/1', { 'x-http-method-override': 'PUT' }, { kind: 'rest', method: 'PUT' }],
  ['POST', '/wp-json/wp/v2/posts/1?_method=GET', { 'x-http-method-override': 'DELETE' }, { kind: 'rest', method: 'GET' }],
  ['GET', '/wp-json/api/v1/token', {}, { kind: 'gateway', route: '/api/v1/token' }],
  ['POST', '/?rest_route=/API/v1/token', {}, { kind: 'gateway' }],
  ['POST', '/wp-json/gateway-bridge/v1/authenticate', {}, { kind: 'internal' }],
  ['GET', '/?rest_route=/gateway-bridge/v1/users/1', {}, { kind: 'internal' }],
  ['GET', '/', {}, { kind: 'site', route: null }],
  ['GET', '/wp-admin/', {}, { kind: 'site' }],
  ['POST', '/wp-login.php', {}, { kind: 'site' }],
  ['POST', '/xmlrpc.php', {}, { kind: 'site' }],
  ['GET', '/wp-jsonx/wp/v2/users', {}, { kind: 'site' }],
  ['GET', '/?rest_route=', {}, { kind: 'site' }],
  // Refused: ambiguous or unknown.
  ['GET', '/wp-json/wp/v2/posts?rest_route=/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/posts?rest_route=', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route[]=/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp%252Fv2%252Fusers', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2//users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/posts/../users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2\\users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/users%00', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json//wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '//wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', 'http://evil/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/wp-json/wp/v2/posts?_method[]=DELETE', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/wp-json/wp/v2/posts', { 'x-http-method-override': 'DELETE, PUT' }, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/wp-json/wp/v2/posts?_method=TRACE', {}, 'GW_ERR_METHOD_UNSUPPORTED'],
  ['TRACE', '/wp-json/wp/v2/posts', {}, 'GW_ERR_METHOD_UNSUPPORTED']
]

for (const [method, url, headers, expected] of cases) {
  t.test(`${method} ${url} ${JSON.stringify(headers)}`, async (t) => {
    if (typeof expected === 'string') {
      t.throws(() => resolve(method, url, headers), { code: expected })
      return
    }
    t.match(resolve(method, url, headers), expected)
  })
}

t.test('the forwarded URL is the normalised path with the query exactly as sent', async (t) => {
  t.match(resolve('GET', '/wp-json/wp/v2/posts?search=a+b&x=%27', {}), { path: '/wp-json/wp/v2/posts', query: 'search=a+b&x=%27' })
  t.match(resolve('GET', '/a/../wp-json\\wp', {}), { path: '/wp-json/wp', kind: 'rest', route: '/wp' })
})

t.test('PHP variable names', async (t) => {
  t.same(phpVariableName('rest.route'), { name: 'rest_route', array: false })
  t.same(phpVariableName('  rest route'), { name: 'rest_route', array: false })
  t.same(phpVariableName('rest[route'), { name: 'rest_route', array: false })
  t.same(phpVariableName('rest[route.x'), { name: 'rest_route.x', array: false }, 'mangling stops after a lone [')
  t.same(phpVariableName('rest_route[a]'), { name: 'rest_route', array: true })
  t.same(readPhpParams('rest_route=%2Fa&rest_route=/b&other=1', new Set(['rest_route'])).get('rest_route'), { value: '/b', array: false })
  t.equal(readPhpParams('rest_route%00junk=/x', new Set(['rest_route'])).get('rest_route')?.value, '/x', 'PHP cuts names at NUL')
})

t.test('POST bodies: rest_route from $_POST, for POST only', async (t) => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const multi = { 'content-type': 'multipart/form-data; boundary="b"' }
  const mp = (name: string, value: string) => Buffer.from(`--b\r\nContent-Disposition: form-data; name=${name}\r\n\r\n${value}\r\n--b--\r\n`)
  t.match(resolve('POST', '/', form, Buffer.from('a=1&rest_route=/wp/v2/users')), { kind: 'rest', route: '/wp/v2/users', method: 'POST' })
  t.match(resolve('POST', '/?_method=get', form, Buffer.from('rest%2Eroute=%2Fwp%2Fv2%2Fusers')), { kind: 'rest', route: '/wp/v2/users', method: 'GET' })
  t.match(resolve('POST', '/', multi, mp('"rest_route"', '/wp/v2/Users/')), { kind: 'rest', route: '/wp/v2/users' })
  t.match(resolve('POST', '/', multi, mp('rest.route', '/wp/v2/users')), { kind: 'rest', route: '/wp/v2/users' }, 'unquoted names, mangled')
  t.match(resolve('PUT', '/', form, Buffer.from('rest_route=/wp/v2/users')), { kind: 'site' }, 'PHP fills $_POST for POST only')
  t.match(resolve('POST', '/', { 'content-type': 'application/json' }, Buffer.from('{"rest_route":"/wp/v2/users"}')), { kind: 'site' }, 'nor from JSON')
  t.match(resolve('POST', '/?rest_route=/wp/v2/users', form, Buffer.from('rest_route=/wp/v2/users')), { kind: 'rest', route: '/wp/v2/users' }, 'query and body may agree')
  t.throws(() => resolve('POST', '/?rest_route=/wp/v2/posts', form, Buffer.from('rest_route=/wp/v2/users')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' })
  t.match(resolve('POST', '/', multi, Buffer.from('no parts at all')), { kind: 'site' }, 'a multipart body without parts has no fields, as in PHP')
  t.throws(() => resolve('POST', '/', multi, Buffer.from('--b\r\nContent-Disposition: form-data; name=rest_route')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' }, 'a part cut off in its headers')
  t.throws(() => resolve('POST', '/', { 'content-type': 'multipart/form-data; charset=x' }, Buffer.from('x')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' })
})

t.test('site pages, _jsonp and _embed', async (t) => {
  t.match(resolve('POST', '/xmlrpc.php', {}), { kind: 'site', page: 'xmlrpc' })
  t.match(resolve('POST', '/xmlrpc%2Ephp', {}), { kind: 'site', page: 'xmlrpc' })
  t.match(resolve('GET', '/wp-login.php?action=lostpassword', {}), { kind: 'site', page: 'login' })
  t.match(resolve('GET', '/wp-admin/', {}), { kind: 'site', page: 'other' })
  t.throws(() => resolve('GET', '/wp-json/wp/v2/posts?_jsonp=x', {}), { code: 'GW_ERR_JSONP_DISABLED' })
  t.throws(() => resolve('GET', '/?rest_route=/wp/v2/posts&_jsonp', {}), { code: 'GW_ERR_JSONP_DISABLED' })
  t.match(resolve('GET', '/wp-json/wp/v2/posts?_embed', {}), { embed: true })
  t.match(resolve('GET', '/wp-json/wp/v2/posts?_embed=author', {}), { embed: true })
  t.match(resolve('GET', '/wp-json/wp/v2/posts', {}), { embed: false })
})
