import t from 'tap'
import { request as httpRequest } from 'node:http'
import { buildTestApp, password, session } from '../helper.js'

// The bypass corpus: ways to reach a protected or disabled WordPress route
// that REST protection plugins have been talked around by, sent as raw HTTP
// through the gateway to the real WordPress. Each must get its decision, and
// no protected or disabled route may answer with data.

const config = {
  policy: {
    default: 'authenticated',
    rules: [
      { route: '/wp/v2/posts*', methods: ['GET'], access: 'public' },
      { route: '/wp/v2/settings*', access: 'deny' },
      { route: '/wp/v2/users*', access: 'authenticated', roles: ['administrator', 'editor'] }
    ]
  }
}

// What would betray a leak: user objects (`"avatar_urls"`; a comment's
// `"author_avatar_urls"` is public), site settings, user emails.
const LEAKS = [/"avatar_urls"/, /"posts_per_page"/, /@example\.test/]

interface Case {
  name: string
  method?: string
  path: string
  headers?: Record<string, string>
  body?: string
  as?: 'anonymous' | 'subscriber' | 'editor'
  /** Expected status, and the gateway's code when the gateway answers. */
  status: number
  code?: string
  /** Controls: these must answer with data, proving the corpus can fail. */
  data?: boolean
}

const form = { 'content-type': 'application/x-www-form-urlencoded' }
const multipart = (name: string, value: string) => ({
  headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
  body: `--XyZ\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n--XyZ--\r\n`
})
const batch = (requests: object[]) => ({ method: 'POST', path: '/wp-json/batch/v1', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ requests }) })

const LOGIN = { status: 401, code: 'GW_ERR_TOKEN_MISSING' }
const AMBIGUOUS = { status: 400, code: 'GW_ERR_ROUTE_AMBIGUOUS' }
const DISABLED = { status: 403, code: 'GW_ERR_ROUTE_DISABLED' }
const ROLE = { status: 403, code: 'GW_ERR_ROLE_FORBIDDEN' }

const cases: Case[] = [
  // Path aliases and spellings of /wp/v2/users.
  { name: 'plain', path: '/wp-json/wp/v2/users', ...LOGIN },
  { name: 'trailing slash', path: '/wp-json/wp/v2/users/', ...LOGIN },
  { name: 'upper case route', path: '/wp-json/WP/V2/USERS', ...LOGIN },
  { name: 'upper case prefix', path: '/WP-JSON/wp/v2/users', ...AMBIGUOUS },
  { name: 'front controller', path: '/index.php/wp-json/wp/v2/users', ...LOGIN },
  { name: 'rest_route on index.php', path: '/index.php?rest_route=/wp/v2/users', ...LOGIN },
  { name: 'rest_route on /', path: '/?rest_route=/wp/v2/users', ...LOGIN },
  { name: 'rest_route on any page', path: '/sample-page/?rest_route=/wp/v2/users', ...AMBIGUOUS },
  { name: 'rest_route encoded', path: '/?rest_route=%2Fwp%2Fv2%2Fusers', ...LOGIN },
  { name: 'rest_route trailing slash', path: '/?rest_route=/wp/v2/users/', ...LOGIN },
  { name: 'rest_route mixed case', path: '/?rest_route=/WP/v2/Users', ...LOGIN },
  { name: 'rest.route (PHP turns . into _)', path: '/?rest.route=/wp/v2/users', ...LOGIN },
  { name: 'rest%2Eroute', path: '/?rest%2Eroute=/wp/v2/users', ...LOGIN },
  { name: 'rest+route (space)', path: '/?rest+route=/wp/v2/users', ...LOGIN },
  { name: 'rest[route (lone bracket)', path: '/?rest[route=/wp/v2/users', ...LOGIN },
  { name: 'leading space in the name', path: '/?%20rest_route=/wp/v2/users', ...LOGIN },
  { name: 'duplicate rest_route, last wins', path: '/?rest_route=/wp/v2/posts&rest_route=/wp/v2/users', ...LOGIN },
  { name: 'encoded slashes in the path', path: '/wp-json/wp%2Fv2%2Fusers', ...AMBIGUOUS },
  { name: 'encoded prefix', path: '/wp%2Djson/wp/v2/users', ...LOGIN },
  { name: 'dot segment', path: '/wp-json/wp/v2/posts/../users', ...AMBIGUOUS },
  { name: 'dot-dot via an encoded slash', path: '/wp-json/wp/v2/posts/..%2Fusers', ...AMBIGUOUS },
  { name: 'backslashes', path: '/wp-json\\wp\\v2\\users', ...AMBIGUOUS },
  { name: 'leading ./', path: '/./wp-json/wp/v2/users', ...AMBIGUOUS },
  { name: 'dot in the route', path: '/wp-json/./wp/v2/users', ...AMBIGUOUS },
  // Ambiguous: refused without guessing.
  { name: 'rest_route as an array', path: '/?rest_route[]=/wp/v2/users', ...AMBIGUOUS },
  { name: 'doubled slash in rest_route', path: '/?rest_route=/wp/v2//users', ...AMBIGUOUS },
  { name: 'dot-dot in rest_route', path: '/?rest_route=/wp/v2/posts/../users', ...AMBIGUOUS },
  { name: 'dot in rest_route', path: '/?rest_route=/wp/v2/./users', ...AMBIGUOUS },
  { name: 'backslash in rest_route', path: '/?rest_route=/wp/v2%5Cusers', ...AMBIGUOUS },
  { name: 'NUL in rest_route', path: '/?rest_route=/wp/v2/users%00', ...AMBIGUOUS },
  { name: 'rest_route without a leading slash', path: '/?rest_route=wp/v2/users', ...AMBIGUOUS },
  { name: 'public path, protected rest_route', path: '/wp-json/wp/v2/posts?rest_route=/wp/v2/users', ...AMBIGUOUS },
  { name: 'double encoding', path: '/wp-json/wp%252Fv2%252Fusers', ...AMBIGUOUS },
  { name: 'doubled slash in the path', path: '/wp-json/wp/v2//users', ...AMBIGUOUS },
  { name: 'protocol-relative target', path: '//wp-json/wp/v2/users', ...AMBIGUOUS },
  { name: 'two X-HTTP-Method-Override', method: 'POST', path: '/wp-json/wp/v2/posts', headers: { 'x-http-method-override': 'GET, DELETE' }, ...AMBIGUOUS },
  // rest_route in the POST body (PHP's $_POST), with _method=GET to read.
  { name: 'form body rest_route', method: 'POST', path: '/?_method=GET', headers: form, body: 'rest_route=/wp/v2/users', ...LOGIN },
  { name: 'form body rest.route', method: 'POST', path: '/?_method=GET', headers: form, body: 'rest.route=%2Fwp%2Fv2%2Fusers', ...LOGIN },
  { name: 'multipart body rest_route', method: 'POST', path: '/?_method=GET', ...multipart('rest_route', '/wp/v2/users'), ...LOGIN },
  { name: 'multipart body rest[route on a page', method: 'POST', path: '/sample-page/?_method=GET', ...multipart('rest[route', '/wp/v2/users'), ...AMBIGUOUS },
  { name: 'query and body disagree', method: 'POST', path: '/?_method=GET&rest_route=/wp/v2/posts', headers: form, body: 'rest_route=/wp/v2/users', ...AMBIGUOUS },
  { name: 'public path, body rest_route', method: 'POST', path: '/wp-json/wp/v2/posts?_method=GET', headers: form, body: 'rest_route=/wp/v2/users', ...AMBIGUOUS },
  // The disabled route, by every method trick.
  { name: 'settings', path: '/wp-json/wp/v2/settings', ...DISABLED },
  { name: 'settings by rest_route', path: '/?rest_route=/wp/v2/settings', ...DISABLED },
  { name: 'settings by HEAD (no body to carry a code)', method: 'HEAD', path: '/wp-json/wp/v2/settings', status: 403 },
  { name: 'settings by OPTIONS (schema)', method: 'OPTIONS', path: '/wp-json/wp/v2/settings', ...DISABLED },
  { name: 'settings, POST with X-HTTP-Method-Override: GET', method: 'POST', path: '/wp-json/wp/v2/settings', headers: { 'x-http-method-override': 'GET' }, ...DISABLED },
  { name: 'settings, underscore override header', method: 'POST', path: '/wp-json/wp/v2/settings', headers: { x_http_method_override: 'GET' }, status: 400, code: 'GW_ERR_HEADER_REFUSED' },
  { name: 'settings under a public path by _method', method: 'POST', path: '/wp-json/wp/v2/posts?_method=GET&rest_route=/wp/v2/settings', ...AMBIGUOUS },
  { name: 'settings, POST body rest_route', method: 'POST', path: '/?_method=GET', headers: form, body: 'rest_route=/wp/v2/settings', ...DISABLED },
  { name: 'settings by subscriber', path: '/wp-json/wp/v2/settings', as: 'subscriber', ...DISABLED },
  { name: 'settings by editor', path: '/wp-json/wp/v2/settings', as: 'editor', ...DISABLED },
  // The batch route, sub-request by sub-request.
  { name: 'batch: a disabled sub-request', ...batch([{ method: 'POST', path: '/wp/v2/settings' }]), as: 'editor', status: 403, code: 'GW_ERR_BATCH_FORBIDDEN' },
  { name: 'batch: disabled route in upper case', ...batch([{ method: 'POST', path: '/wp/v2/posts' }, { method: 'PUT', path: '/WP/V2/SETTINGS' }]), as: 'editor', status: 403, code: 'GW_ERR_BATCH_FORBIDDEN' },
  { name: 'batch: a role-restricted sub-request', ...batch([{ method: 'POST', path: '/wp/v2/users?context=edit' }]), as: 'subscriber', status: 403, code: 'GW_ERR_BATCH_FORBIDDEN' },
  { name: 'batch in a batch', ...batch([{ method: 'POST', path: '/batch/v1' }]), as: 'editor', status: 403, code: 'GW_ERR_BATCH_FORBIDDEN' },
  { name: 'batch: a bridge route', ...batch([{ method: 'POST', path: '/gateway-bridge/v1/authenticate' }]), as: 'editor', status: 403, code: 'GW_ERR_BATCH_FORBIDDEN' },
  { name: 'batch: an ambiguous sub-path', ...batch([{ method: 'POST', path: '/wp/v2//settings' }]), as: 'editor', ...AMBIGUOUS },
  { name: 'batch: not JSON', method: 'POST', path: '/wp-json/batch/v1', headers: { 'content-type': 'application/json' }, body: '{"requests":', as: 'editor', status: 400, code: 'GW_ERR_BAD_REQUEST' },
  { name: 'batch: anonymous', ...batch([{ method: 'POST', path: '/wp/v2/posts' }]), ...LOGIN },
  // Roles.
  { name: 'users as subscriber', path: '/wp-json/wp/v2/users', as: 'subscriber', ...ROLE },
  { name: 'users/me as subscriber, by rest_route', path: '/?rest_route=/wp/v2/users/me', as: 'subscriber', ...ROLE },
  { name: 'users as subscriber, body rest_route', method: 'POST', path: '/?_method=GET', headers: form, body: 'rest_route=/wp/v2/users', as: 'subscriber', ...ROLE },
  // The awkward parameters.
  { name: '_jsonp on a public route', path: '/wp-json/wp/v2/posts?_jsonp=steal', status: 400, code: 'GW_ERR_JSONP_DISABLED' },
  { name: '_jsonp by rest_route', path: '/?rest_route=/wp/v2/posts&_jsonp=steal', status: 400, code: 'GW_ERR_JSONP_DISABLED' },
  { name: '_jsonp spelled _jsonp.', path: '/wp-json/wp/v2/posts?_jsonp%2E=steal', status: 200, data: false },
  { name: '_envelope does not turn a refusal into 200', path: '/wp-json/wp/v2/users?_envelope', ...LOGIN },
  { name: '_embed: authors are not embedded for anonymous callers', path: '/wp-json/wp/v2/posts?_embed', status: 200, data: false },
  { name: '_embed=author', path: '/wp-json/wp/v2/posts?_embed=author', status: 200, data: false },
  { name: '_embed as subscriber', path: '/?rest_route=/wp/v2/posts&_embed=1', as: 'subscriber', status: 200, data: false },
  // Credentials and identity tricks.
  { name: 'forged assertion header', path: '/wp-json/wp/v2/users', headers: { 'x-wp-gateway-assertion': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.x' }, ...LOGIN },
  { name: 'forged bearer token', path: '/wp-json/wp/v2/users', headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.' }, status: 401, code: 'GW_ERR_TOKEN_MALFORMED' },
  { name: 'basic credentials (not enabled)', path: '/wp-json/wp/v2/users', headers: { authorization: 'Basic YWRtaW46YWRtaW4tcGFzc3dvcmQtMTIz' }, status: 401, code: 'GW_ERR_AUTH_SCHEME_UNSUPPORTED' },
  { name: 'the bridge namespace', path: '/wp-json/gateway-bridge/v1/users/1', status: 404, code: 'GW_ERR_ROUTE_NOT_FOUND' },
  { name: 'the bridge namespace by rest_route', method: 'POST', path: '/?rest_route=/gateway-bridge/v1/authenticate', status: 404, code: 'GW_ERR_ROUTE_NOT_FOUND' },
  // Non-REST entry points.
  { name: 'xmlrpc.php (blocked by default)', method: 'POST', path: '/xmlrpc.php', headers: { 'content-type': 'text/xml' }, body: '<?xml version="1.0"?><methodCall><methodName>wp.getUsers</methodName></methodCall>', ...DISABLED },
  { name: 'xmlrpc%2Ephp', method: 'POST', path: '/xmlrpc%2Ephp', ...AMBIGUOUS },
  { name: 'XMLRPC.PHP', method: 'POST', path: '/XMLRPC.PHP', ...DISABLED },
  // Controls: allowed requests answer with data, so the leak checks can fail.
  { name: 'control: users as editor', path: '/wp-json/wp/v2/users', as: 'editor', status: 200, data: true },
  { name: 'control: users by body rest_route as editor', method: 'POST', path: '/?_method=GET', headers: form, body: 'rest_route=/wp/v2/users', as: 'editor', status: 200, data: true },
  { name: 'control: _embed as editor embeds authors', path: '/wp-json/wp/v2/posts?_embed=author', as: 'editor', status: 200, data: true },
  { name: 'control: an allowed batch reaches WordPress', ...batch([{ method: 'POST', path: '/wp/v2/tags', body: { name: `batched-${Date.now()}` } }]), as: 'editor', status: 207 }
]

function send (port: number, c: Case, token: string | undefined): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...c.headers }
    if (token !== undefined) headers.authorization = `Bearer ${token}`
    if (c.body !== undefined) headers['content-length'] = String(Buffer.byteLength(c.body))
    const req = httpRequest({ host: '127.0.0.1', port, method: c.method ?? 'GET', path: c.path, headers }, (res) => {
      let body = ''
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end(c.body)
  })
}

t.test('bypass corpus', async (t) => {
  t.ok(cases.length >= 60, `${cases.length} variants`)
  const app = await buildTestApp(t, config)
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const tokens = {
    anonymous: undefined,
    subscriber: (await session(app, 'subscriber', password('subscriber'))).access_token,
    editor: (await session(app, 'editor', password('editor'))).access_token
  }
  for (const c of cases) {
    const res = await send(port, c, tokens[c.as ?? 'anonymous'])
    t.equal(res.status, c.status, `${c.name}: ${c.status} (got ${res.body.slice(0, 160)})`)
    if (c.code !== undefined) t.match(res.body, `"code":"${c.code}"`, `${c.name}: ${c.code}`)
    const leaked = LEAKS.some((re) => re.test(res.body))
    t.equal(leaked, c.data === true, `${c.name}: ${c.data === true ? 'answers with data (control)' : 'no protected data'}`)
  }
})
