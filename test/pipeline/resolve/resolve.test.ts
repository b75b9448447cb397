import t from 'tap'
import { isPending, resolveHead, withBody, type Resolved } from '../../../src/pipeline/resolve/index.js'

// What PHP and WordPress would make of each request, as the gateway must see
// it, or the refusal where they could read it differently
// (docs/architecture.md, "The resolve stage"; research in test/fixtures/README.md).

const opts = { maxVars: 1000 }
type Expected = { kind: string, route?: string | null, method?: string, page?: string } | string

function head (method: string, url: string, headers: Record<string, string> = {}): Resolved {
  const r = resolveHead(method, url, headers, opts)
  return isPending(r) ? r.resolved : r
}

const cases: Array<[method: string, url: string, headers: Record<string, string>, expected: Expected]> = [
  // The REST API by permalink.
  ['GET', '/wp-json/wp/v2/posts', {}, { kind: 'rest', route: '/wp/v2/posts', method: 'GET' }],
  ['GET', '/wp-json/wp/v2/posts/', {}, { kind: 'rest', route: '/wp/v2/posts' }],
  ['GET', '/wp-json/WP/V2/Users/ME', {}, { kind: 'rest', route: '/wp/v2/users/me' }],
  ['GET', '/wp-json', {}, { kind: 'rest', route: '/' }],
  ['GET', '/wp-json/', {}, { kind: 'rest', route: '/' }],
  ['GET', '/index.php/wp-json/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/wp-json/wp/v2/posts/café-au-lait', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  // rest_route on the front controller.
  ['GET', '/?rest_route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/index.php?rest_route=%2Fwp%2Fv2%2Fusers', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest+route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest[route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest.route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?%20rest_route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest_route%00junk=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest_route=/wp/v2/posts&rest_route=/wp/v2/users', {}, { kind: 'rest', route: '/wp/v2/users' }],
  ['GET', '/?rest_route=', {}, { kind: 'site', route: null }],
  ['GET', '/?rest_route=0', {}, { kind: 'site', route: null }],
  // Methods.
  ['POST', '/wp-json/wp/v2/posts/1?_method=DELETE', {}, { kind: 'rest', method: 'DELETE' }],
  ['POST', '/wp-json/wp/v2/posts/1?_method=delete', {}, { kind: 'rest', method: 'DELETE' }],
  ['GET', '/wp-json/wp/v2/posts/1?_method=DELETE', {}, { kind: 'rest', method: 'DELETE' }],
  ['POST', '/wp-json/wp/v2/posts/1', { 'x-http-method-override': 'PUT' }, { kind: 'rest', method: 'PUT' }],
  ['POST', '/wp-json/wp/v2/posts/1?_method=GET', { 'x-http-method-override': 'DELETE' }, { kind: 'rest', method: 'GET' }],
  // The gateway's and the bridge's namespaces.
  ['GET', '/wp-json/api/v1/token', {}, { kind: 'gateway', route: '/api/v1/token' }],
  ['POST', '/?rest_route=/API/v1/token', {}, { kind: 'gateway' }],
  ['POST', '/wp-json/gateway-bridge/v1/authenticate', {}, { kind: 'internal' }],
  ['GET', '/?rest_route=/gateway-bridge/v1/users/1', {}, { kind: 'internal' }],
  // Site pages, by the script that runs.
  ['GET', '/', {}, { kind: 'site', route: null, page: 'other' }],
  ['GET', '/sample-page/', {}, { kind: 'site', page: 'other' }],
  ['GET', '/wp-admin/', {}, { kind: 'site', page: 'other' }],
  ['POST', '/wp-login.php', {}, { kind: 'site', page: 'login' }],
  ['GET', '/WP-LOGIN.PHP', {}, { kind: 'site', page: 'login' }],
  ['POST', '/xmlrpc.php', {}, { kind: 'site', page: 'xmlrpc' }],
  ['GET', '/wp-jsonx/wp/v2/users', {}, { kind: 'site' }],
  ['GET', '/index.php/sample-page/', {}, { kind: 'site', page: 'other' }],
  ['GET', '/wp-content/uploads/2026/11/a.jpg', {}, { kind: 'site' }],
  // Refused: paths whose reading depends on the server (class 1).
  ['GET', '/WP-JSON/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/.//wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '//wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/./wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/readme.html/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-cron.php/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-includes/js/jquery/jquery.js/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-activate.php/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-admin/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/INDEX.PHP/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-login.php/x', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp%2Fv2%2Fusers', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp%252Fv2%252Fusers', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/../v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/%2E%2E/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json\\wp\\v2\\users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json//wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/users%0A', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/users%zz', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  // Escapes in a REST path: WordPress keeps them in the route when the prefix is plain, decodes them when it is not.
  ['GET', '/wp%2Djson/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/users/%31', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/posts/caf%C3%A9', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/sample%2Dpage/', {}, { kind: 'site' }],
  // Numbers WordPress reads without their leading zeros (?P<id>[\d]+).
  ['GET', '/wp-json/wp/v2/tags/09', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/tags/009', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/tags/0', {}, { kind: 'rest', route: '/wp/v2/tags/0' }],
  ['GET', '/wp-json/wp/v2/tags/10', {}, { kind: 'rest', route: '/wp/v2/tags/10' }],
  ['GET', 'http://evil/wp-json/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  // rest_route where the front controller may not be what runs (class 4).
  ['GET', '/sample-page/?rest_route=/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-login.php?rest_route=/', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/xmlrpc.php?rest_route=/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/wp-comments-post.php?rest_route=/wp/v2/comments', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-admin/admin-ajax.php?rest_route=/wp/v2/users&action=rest-nonce', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-blog-header.php?rest_route=/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/posts?rest_route=/wp/v2/posts', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/wp-json/wp/v2/posts?rest_route=', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  // Parameters PHP reads differently or not at all.
  ['GET', '/?rest_route[]=/wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=wp/v2/users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2//users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/posts/../users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2\\users', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/users%00', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/users%0A', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', '/?rest_route=/wp/v2/users%23', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['GET', `/?rest_route=/wp/v2/users${'&a=1'.repeat(999)}&rest_route=`, {}, 'GW_ERR_TOO_MANY_PARAMETERS'],
  ['POST', '/wp-json/wp/v2/posts?_method[]=DELETE', {}, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/wp-json/wp/v2/posts', { 'x-http-method-override': 'DELETE, PUT' }, 'GW_ERR_ROUTE_AMBIGUOUS'],
  ['POST', '/wp-json/wp/v2/posts?_method=TRACE', {}, 'GW_ERR_METHOD_UNSUPPORTED'],
  ['TRACE', '/wp-json/wp/v2/posts', {}, 'GW_ERR_METHOD_UNSUPPORTED'],
  // The gateway's own namespace is never forwarded.
  ['GET', '/_gateway/admin/', {}, 'GW_ERR_ROUTE_NOT_FOUND'],
  ['GET', '/_GATEWAY/nothing', {}, 'GW_ERR_ROUTE_NOT_FOUND'],
  ['GET', '/%5Fgateway/admin', {}, 'GW_ERR_ROUTE_NOT_FOUND']
]

for (const [method, url, headers, expected] of cases) {
  t.test(`${method} ${url.length > 80 ? url.slice(0, 80) + '…' : url} ${JSON.stringify(headers)}`, async (t) => {
    if (typeof expected === 'string') {
      t.throws(() => head(method, url, headers), { code: expected })
      return
    }
    t.match(head(method, url, headers), expected)
  })
}

t.test('the forwarded URL is the path and query exactly as sent', async (t) => {
  t.match(head('GET', '/wp-json/wp/v2/posts?search=a+b&x=%27', {}), { path: '/wp-json/wp/v2/posts', query: 'search=a+b&x=%27' })
  t.match(head('GET', '/caf%C3%A9/', {}), { path: '/caf%C3%A9/', kind: 'site' })
})

t.test('max_input_vars: PHP skips empty query items without counting them, and reads up to the limit', async (t) => {
  const items = (n: number) => Array.from({ length: n }, (_, i) => `a${i}=1`).join('&')
  t.match(head('GET', `/?${items(999)}&rest_route=/wp/v2/users`, {}), { kind: 'rest', route: '/wp/v2/users' }, '1000 items are all read')
  t.throws(() => head('GET', `/?${items(1000)}&rest_route=/wp/v2/users`, {}), { code: 'GW_ERR_TOO_MANY_PARAMETERS' }, 'the 1001st is not')
  t.match(head('GET', `/?${items(999)}&&&&rest_route=/wp/v2/users`, {}), { route: '/wp/v2/users' }, 'empty items do not count')
  t.throws(() => resolveHead('GET', `/?${items(10)}`, {}, { maxVars: 10 - 1 }), { code: 'GW_ERR_TOO_MANY_PARAMETERS' }, 'the limit is configurable')
})

t.test('_jsonp and _embed', async (t) => {
  t.throws(() => head('GET', '/wp-json/wp/v2/posts?_jsonp=x'), { code: 'GW_ERR_JSONP_DISABLED' })
  t.throws(() => head('GET', '/?rest_route=/wp/v2/posts&_jsonp'), { code: 'GW_ERR_JSONP_DISABLED' })
  t.throws(() => head('GET', '/wp-json/wp/v2/posts?_jsonp[]=x'), { code: 'GW_ERR_JSONP_DISABLED' })
  t.match(head('GET', '/?_jsonp=x'), { kind: 'site' }, 'harmless where no REST request runs')
  t.match(head('GET', '/wp-json/wp/v2/posts?_embed'), { embed: true })
  t.match(head('GET', '/wp-json/wp/v2/posts?_embed=author'), { embed: true })
  t.match(head('GET', '/wp-json/wp/v2/posts?.embed'), { embed: true }, 'PHP reads .embed as _embed')
  t.match(head('GET', '/wp-json/wp/v2/posts'), { embed: false })
})

t.test('POST bodies: rest_route from $_POST, for POST forms to the front controller', async (t) => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  const multi = { 'content-type': 'multipart/form-data; boundary="b"' }
  const mp = (name: string, value: string) => Buffer.from(`--b\r\nContent-Disposition: form-data; name=${name}\r\n\r\n${value}\r\n--b--\r\n`)
  const body = (method: string, url: string, headers: Record<string, string>, b: Buffer) => {
    const r = resolveHead(method, url, headers, opts)
    return isPending(r) ? withBody(r, b, headers, opts) : r
  }
  t.match(body('POST', '/', form, Buffer.from('a=1&rest_route=/wp/v2/users')), { kind: 'rest', route: '/wp/v2/users', method: 'POST' })
  t.match(body('POST', '/index.php', { 'content-type': 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' }, Buffer.from('rest_route=/wp/v2/users')), { kind: 'rest' }, 'media type without regard to case')
  t.match(body('POST', '/?_method=get', form, Buffer.from('rest%2Eroute=%2Fwp%2Fv2%2Fusers')), { kind: 'rest', route: '/wp/v2/users', method: 'GET' })
  t.match(body('POST', '/', multi, mp('"rest_route"', '/wp/v2/Users/')), { kind: 'rest', route: '/wp/v2/users' })
  t.match(body('POST', '/', multi, mp('rest.route', '/wp/v2/users')), { kind: 'rest', route: '/wp/v2/users' }, 'unquoted names, mangled')
  t.match(body('PUT', '/', form, Buffer.from('rest_route=/wp/v2/users')), { kind: 'site' }, 'PHP fills $_POST for POST only')
  t.match(body('POST', '/', { 'content-type': 'application/json' }, Buffer.from('{"rest_route":"/wp/v2/users"}')), { kind: 'site' }, 'nor from JSON')
  t.match(body('POST', '/?rest_route=/wp/v2/users', form, Buffer.from('rest_route=/wp/v2/users')), { kind: 'rest', route: '/wp/v2/users' }, 'query and body may agree')
  t.throws(() => body('POST', '/?rest_route=/wp/v2/posts', form, Buffer.from('rest_route=/wp/v2/users')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' })
  t.throws(() => body('POST', '/sample-page/', form, Buffer.from('rest_route=/wp/v2/users')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' }, 'WordPress reads $_POST on any page the front controller serves')
  t.match(body('POST', '/sample-page/', form, Buffer.from('comment=hello')), { kind: 'site' })
  t.throws(() => body('POST', '/wp-json/wp/v2/posts?_method=GET', form, Buffer.from('rest_route=/wp/v2/users')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' }, 'the body beats the path in WordPress')
  t.throws(() => body('POST', '/wp-json/wp/v2/posts', form, Buffer.from('rest_route=')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' }, 'an empty one makes a REST path a site page')
  t.throws(() => body('POST', '/?rest_route=', form, Buffer.from('rest_route=/wp/v2/users')), { code: 'GW_ERR_ROUTE_AMBIGUOUS' }, 'an empty query one still differs')
  t.match(body('POST', '/wp-json/wp/v2/posts', form, Buffer.from('rest_route=/wp/v2/posts/')), { route: '/wp/v2/posts' }, 'the same route is fine')
  t.ok(isPending(resolveHead('POST', '/', form, opts)))
  t.notOk(isPending(resolveHead('PUT', '/', form, opts)), 'no other method fills $_POST')
  t.ok(isPending(resolveHead('POST', '/', { 'content-type': 'application/x-www-form-urlencoded,text/plain' }, opts)), 'PHP cuts the media type at a comma')
  t.throws(() => resolveHead('POST', '/', { 'content-type': 'application/x-www-form-urlencoded\t' }, opts), { code: 'GW_ERR_FORM_BODY_REFUSED' })
  t.throws(() => body('POST', '/', form, Buffer.from('a&'.repeat(1000) + 'rest_route=/wp/v2/users')), { code: 'GW_ERR_TOO_MANY_PARAMETERS' }, 'empty items count in a form body')
})

t.test('multipart: only what PHP and RFC 7578 read alike', async (t) => {
  const part = (name: string, value: string) => `--B\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`
  const read = (contentType: string, raw: string, limits = opts) => {
    const headers = { 'content-type': contentType }
    const r = resolveHead('POST', '/', headers, limits)
    if (!isPending(r)) throw new Error('not pending')
    return withBody(r, Buffer.from(raw, 'latin1'), headers, limits)
  }
  const good = 'multipart/form-data; boundary=B'
  t.match(read(good, part('a', '1') + part('rest_route', '/wp/v2/users') + '--B--\r\n'), { route: '/wp/v2/users' })
  t.match(read(good, part('rest_route', '/wp/v2/users') + '--B--'), { route: '/wp/v2/users' }, 'no CRLF after the closing delimiter')
  t.match(read('multipart/form-data; BOUNDARY=B', part('rest_route', '/wp/v2/users') + '--B--'), { route: '/wp/v2/users' }, 'PHP finds BOUNDARY too')
  t.match(read(good, '--B\r\nContent-Disposition: form-data; name="rest_route"; filename="x"\r\n\r\n/wp/v2/users\r\n--B--'), { kind: 'site' }, 'a file is no $_POST field')
  const refused: Array<[string, string, string]> = [
    ['xboundary= inside another name', 'multipart/form-data; xboundary=A; boundary=B', part('rest_route', '/wp/v2/users') + '--B--'],
    ['two boundaries', 'multipart/form-data; boundary=A; boundary=B', part('rest_route', '/wp/v2/users') + '--B--'],
    ['spaces around =', 'multipart/form-data; boundary = B', part('rest_route', '/wp/v2/users') + '--B--'],
    ['a trailing space', 'multipart/form-data; boundary=B ', part('rest_route', '/wp/v2/users') + '--B--'],
    ['a boundary inside a value', 'multipart/form-data; foo="boundary"; boundary=B', part('rest_route', '/wp/v2/users') + '--B--'],
    ['no boundary', 'multipart/form-data; charset=x', part('rest_route', '/wp/v2/users') + '--B--'],
    ['a comma list', 'multipart/form-data, boundary=B', part('rest_route', '/wp/v2/users') + '--B--']
  ]
  for (const [name, contentType, raw] of refused) t.throws(() => read(contentType, raw), { code: 'GW_ERR_FORM_BODY_REFUSED' }, name)
  const bodies: Array<[string, string]> = [
    ['a preamble', 'hello\r\n' + part('rest_route', '/x') + '--B--'],
    ['a part after the closing delimiter', part('a', '1') + '--B--\r\n--B\r\nContent-Disposition: form-data; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['an epilogue', part('a', '1') + '--B--\r\nepilogue'],
    ['no closing delimiter', part('rest_route', '/wp/v2/users')],
    ['a delimiter after a bare LF', '--B\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\n--B\r\nContent-Disposition: form-data; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['LF line endings', '--B\nContent-Disposition: form-data; name="rest_route"\n\n/wp/v2/users\n--B--'],
    ['a folded header line', '--B\r\nContent-Disposition: form-data;\r\n name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['a header line without a colon', '--B\r\nContent-Disposition: form-data; name="a"\r\nx; filename="f"\r\n\r\n1\r\n--B--'],
    ['a space before the colon', '--B\r\nContent-Disposition : form-data; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['no Content-Disposition', '--B\r\nContent-Type: text/plain\r\n\r\n/wp/v2/users\r\n--B--'],
    ['two Content-Dispositions', '--B\r\nContent-Disposition: form-data; name="a"\r\nContent-Disposition: form-data; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['not form-data', '--B\r\nContent-Disposition: attachment; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['no disposition type', '--B\r\nContent-Disposition: name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['name*=', '--B\r\nContent-Disposition: form-data; name*=UTF-8\'\'rest_route\r\n\r\n/wp/v2/users\r\n--B--'],
    ['two names', '--B\r\nContent-Disposition: form-data; name="a"; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['an escaped quote', '--B\r\nContent-Disposition: form-data; name="a\\"b"\r\n\r\n1\r\n--B--'],
    ['no name', '--B\r\nContent-Disposition: form-data\r\n\r\n1\r\n--B--'],
    ['no blank line after the headers', '--B\r\nContent-Disposition: form-data; name="a"\r\n--B\r\nContent-Disposition: form-data; name="rest_route"\r\n\r\n/wp/v2/users\r\n--B--'],
    ['a header line of 5120 bytes', `--B\r\nX-Pad: ${'p'.repeat(5120)}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--B--`]
  ]
  for (const [name, raw] of bodies) t.throws(() => read(good, raw), { code: 'GW_ERR_FORM_BODY_REFUSED' }, name)
  t.throws(() => read(good, part('a', '1') + part('b', '2') + part('c', '3') + '--B--', { maxVars: 2 }), { code: 'GW_ERR_FORM_BODY_REFUSED' }, 'more parts than max_input_vars')
})
