import t from 'tap'
import { createHmac } from 'node:crypto'
import { AssertionSigner, type AssertionFacts } from '../../src/bridge/assertion.js'
import { BRIDGE_SECRET, password, WP_URL, type Login } from '../helper.js'
import {
  fill, fillRequest, FORM, JSON_TYPE, leaks, multipart, pairs, readTraces, RUN_ID, sendRaw,
  TRACE_LABEL, tracesOf, type CorpusCase, type RawResponse, type Trace
} from './corpus.js'

// The bridge corpus: requests sent straight to WordPress, past the gateway,
// with forged, missing, expired or malformed assertions, genuine assertions
// for something else than what WordPress runs (another route or method,
// `_method`, rest_route in the body, URL parameters overridden), site-only
// assertions on the REST API, REST assertions whose `sub` arrives at PHP
// entry points that are not the REST server, batch sub-requests not on the
// `bat` list and embeds the `emb` rules forbid. The bridge alone must hold
// (DESIGN §3): every refusal is checked for data and, for write attempts,
// for side effects, read back by the administrator with a genuine assertion.
// Controls prove that a genuine assertion for exactly the request works.

type Class = 'forged' | 'identity' | 'mismatch' | 'override' | 'site' | 'entry' | 'batch' | 'embed' | 'control'

const CLASSES: Record<Class, string> = {
  forged: 'forged, missing, expired or malformed assertions',
  identity: 'who WordPress acts for',
  mismatch: 'assertions for another route or method',
  override: 'URL parameters overridden by the query or body',
  site: 'site-only assertions on the REST API',
  entry: 'REST assertions on PHP entry points that are not the REST server',
  batch: 'batch sub-requests not on the bat list',
  embed: 'embeds the emb rules forbid',
  control: 'controls'
}

type Values = Record<string, string>

/** Placeholders: @@M@@ this case's marker, @@OPEN@@ and @@OTHER@@ the corpus's tags. */
interface Case extends CorpusCase<Class> {
  /** The X-WP-Gateway-Assertion sent, made at send time (fresh), from the values. */
  assertion?: (v: Values) => string
  /** A login cookie of WordPress's own goes along. */
  cookie?: Login
  status: number
  code?: string
  /** Controls: must answer with data (LEAKS). */
  data?: boolean
  match?: RegExp
  /** The Location header must match this. */
  location?: RegExp
  writes?: Trace[]
  creates?: Trace[]
}

const signer = new AssertionSigner(Buffer.from(BRIDGE_SECRET))
const wrongSecret = new AssertionSigner(Buffer.from('not-the-bridge-secret-not-the-bridge-secret'))

/** A genuinely signed assertion; its strings may hold placeholders. */
const as = (facts: AssertionFacts, now?: number) => (v: Values) => signer.sign(JSON.parse(fill(JSON.stringify(facts), v)), now)
/** Signed with another secret. */
const forged = (facts: AssertionFacts) => () => wrongSecret.sign(facts)

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
/** A compact JWS made by hand, for headers and claims AssertionSigner never makes; signed with the bridge's secret unless told. */
function jws (header: object, claims: Record<string, unknown>, { secret = BRIDGE_SECRET, signature }: { secret?: string, signature?: string } = {}): string {
  const input = b64(header) + '.' + b64(claims)
  return input + '.' + (signature ?? createHmac('sha256', secret).update(input).digest('base64url'))
}
const now = () => Math.floor(Date.now() / 1000)
/** Well-formed claims for GET /wp/v2/users/me as user 1, to be spoiled one way at a time. */
const claims = (change: Record<string, unknown> = {}) => ({ iss: 'wp-auth-gateway', aud: 'wordpress-bridge', iat: now(), exp: now() + 30, sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/me', ...change })
const HS256 = { alg: 'HS256', typ: 'JWT' }
const handmade = (header: object, change: Record<string, unknown>, opts?: { secret?: string, signature?: string }) => () => jws(header, claims(change), opts)

const ME = { sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/me' } as const
const editor = (mth: string, rte: string, extra: Partial<AssertionFacts> = {}) => as({ sub: '2', via: 'jwt', mth, rte, ...extra })
const SITE = as({ via: 'none', mth: 'GET' })
const SITE_POST = as({ via: 'none', mth: 'POST' })

const REQUIRED = { status: 401, code: 'gateway_assertion_required' }
const INVALID = { status: 401, code: 'gateway_assertion_invalid' }
const MISMATCH = { status: 403, code: 'gateway_route_mismatch' }
const OVERRIDE = { status: 400, code: 'gateway_param_override' }
const NOT_REST = { status: 403, code: 'gateway_not_rest' }
const SUB_FORBIDDEN = { status: 207, code: 'gateway_subrequest_forbidden' }
/** admin-ajax's answer to an anonymous visitor asking for a REST nonce. */
const AJAX_ANONYMOUS = { status: 400, match: /^0$/ }

const json = (value: unknown) => ({ headers: JSON_TYPE, body: JSON.stringify(value) })
const form = (body: string) => ({ headers: FORM, body })
const batch = (requests: object[]) => ({ method: 'POST', path: '/wp-json/batch/v1', ...json({ requests }) })
const named = (path: string, method = 'POST') => ({ method, path, body: { name: '@@M@@' } })
const BAT_TAGS: Array<[string, string]> = [['POST', '/wp/v2/tags']]
const EMBED_AUTHOR = '/wp-json/wp/v2/posts?_embed=author'
const anonymousPosts = (emb?: AssertionFacts['emb']) => as({ via: 'none', mth: 'GET', rte: '/wp/v2/posts', ...(emb === undefined ? {} : { emb }) })
const COMMENT = form('comment_post_ID=1&comment=@@M@@')

const cases: Case[] = [
  // Forged, missing, expired, malformed: nothing is dispatched.
  { class: 'forged', name: 'no assertion', path: '/wp-json/wp/v2/users/me', ...REQUIRED },
  { class: 'forged', name: 'no assertion, users by rest_route (anonymous WordPress would list them)', path: '/?rest_route=/wp/v2/users', ...REQUIRED },
  { class: 'forged', name: 'no assertion, a write', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), writes: ['tag'], ...REQUIRED },
  { class: 'forged', name: 'no assertion, by PATH_INFO after readme.html', path: '/readme.html/wp-json/wp/v2/users', ...REQUIRED },
  { class: 'forged', name: 'no assertion, by wp-activate.php (no plugins load there)', path: '/wp-activate.php?rest_route=/wp/v2/users', ...REQUIRED },
  { class: 'forged', name: 'signed with another secret', path: '/wp-json/wp/v2/users/me', assertion: forged(ME), ...INVALID },
  { class: 'forged', name: 'signed with another secret, a write', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), assertion: forged({ sub: '1', via: 'jwt', mth: 'POST', rte: '/wp/v2/tags' }), writes: ['tag'], ...INVALID },
  { class: 'forged', name: 'expired', path: '/wp-json/wp/v2/users/me', assertion: as(ME, now() - 60), ...INVALID },
  { class: 'forged', name: 'issued in the future', path: '/wp-json/wp/v2/users/me', assertion: as(ME, now() + 60), ...INVALID },
  { class: 'forged', name: 'a lifetime over 30 s', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { exp: now() + 3600 }), ...INVALID },
  { class: 'forged', name: 'alg none without a signature', path: '/wp-json/wp/v2/users/me', assertion: handmade({ alg: 'none', typ: 'JWT' }, {}, { signature: '' }), ...INVALID },
  { class: 'forged', name: 'alg HS512 in the header', path: '/wp-json/wp/v2/users/me', assertion: handmade({ alg: 'HS512', typ: 'JWT' }, {}), ...INVALID },
  { class: 'forged', name: 'another audience', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { aud: 'wordpress' }), ...INVALID },
  { class: 'forged', name: 'another issuer', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { iss: 'someone-else' }), ...INVALID },
  { class: 'forged', name: 'sub with a leading zero', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { sub: '01' }), ...INVALID },
  { class: 'forged', name: 'sub as a number', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { sub: 1 }), ...INVALID },
  { class: 'forged', name: 'method in lower case', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { mth: 'get' }), ...INVALID },
  { class: 'forged', name: 'a route without a leading slash', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { rte: 'wp/v2/users/me' }), ...INVALID },
  { class: 'forged', name: 'a site assertion with a sub', path: '/wp-json/wp/v2/users/me', assertion: handmade(HS256, { rte: undefined, via: 'none' }), ...INVALID },
  { class: 'forged', name: 'a batch list on another route', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags', { bat: BAT_TAGS }), writes: ['tag'], ...INVALID },
  { class: 'forged', name: 'malformed embed rules', path: EMBED_AUTHOR, assertion: handmade(HS256, { sub: undefined, via: 'none', rte: '/wp/v2/posts', emb: { r: [['/wp/v2/users*', 2]], d: 1 } }), ...INVALID },
  { class: 'forged', name: 'the signature of another assertion', path: '/wp-json/wp/v2/users/me', assertion: () => { const a = signer.sign(ME).split('.'); const b = signer.sign({ via: 'none', mth: 'GET', rte: '/wp/v2/posts' }).split('.'); return `${a[0]}.${a[1]}.${b[2]}` }, ...INVALID },
  { class: 'forged', name: 'two assertion headers (PHP joins them)', path: '/wp-json/wp/v2/users/me', headers: [['X-WP-Gateway-Assertion', '@@ME@@'], ['X-WP-Gateway-Assertion', '@@ME@@']], ...INVALID },

  // Who WordPress acts for: exactly `sub`, inside the REST dispatch.
  { class: 'identity', name: 'an assertion without sub is nobody', path: '/wp-json/wp/v2/users/me', assertion: as({ via: 'none', mth: 'GET', rte: '/wp/v2/users/me' }), status: 401, code: 'rest_not_logged_in' },
  { class: 'identity', name: 'an assertion without sub is nobody, whatever the login cookie', path: '/wp-json/wp/v2/users/me', assertion: as({ via: 'none', mth: 'GET', rte: '/wp/v2/users/me' }), cookie: 'admin', status: 401, code: 'rest_not_logged_in' },
  { class: 'identity', name: 'an assertion without sub, cookie and nonce as _wpnonce', path: '/wp-json/wp/v2/users/me?_wpnonce=@@NONCE@@', assertion: as({ via: 'none', mth: 'GET', rte: '/wp/v2/users/me' }), cookie: 'editor', status: 401, code: 'rest_not_logged_in' },
  { class: 'identity', name: 'the subscriber\'s assertion with the administrator\'s cookie', path: '/wp-json/wp/v2/settings', assertion: as({ sub: '5', via: 'jwt', mth: 'GET', rte: '/wp/v2/settings' }), cookie: 'admin', status: 403, code: 'rest_forbidden' },

  { class: 'identity', name: 'a cookie login asserted for the editor, no cookie sent', path: '/wp-json/wp/v2/users/me', headers: { 'X-WP-Nonce': '@@NONCE@@' }, assertion: as({ sub: '2', via: 'cookie', mth: 'GET', rte: '/wp/v2/users/me' }), status: 401, code: 'gateway_cookie_missing' },
  { class: 'identity', name: 'a cookie login asserted for the editor, the administrator\'s cookie with the editor\'s nonce', path: '/wp-json/wp/v2/users/me', headers: { 'X-WP-Nonce': '@@NONCE@@' }, assertion: as({ sub: '2', via: 'cookie', mth: 'GET', rte: '/wp/v2/users/me' }), cookie: 'admin', status: 403, code: 'rest_cookie_invalid_nonce' },
  { class: 'identity', name: 'a cookie login asserted for the editor, the editor\'s cookie without a nonce', path: '/wp-json/wp/v2/users/me', assertion: as({ sub: '2', via: 'cookie', mth: 'GET', rte: '/wp/v2/users/me' }), cookie: 'editor', status: 401, code: 'rest_not_logged_in' },

  // Genuine, but for another route or method than WordPress dispatches.
  { class: 'mismatch', name: 'another route', path: '/wp-json/wp/v2/users/me', assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/posts' }), ...MISMATCH },
  { class: 'mismatch', name: 'another method', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), assertion: editor('GET', '/wp/v2/tags'), writes: ['tag'], ...MISMATCH },
  { class: 'mismatch', name: '_method=POST on a GET', path: '/wp-json/wp/v2/tags/@@OPEN@@?_method=POST&description=@@M@@', assertion: editor('GET', '/wp/v2/tags/@@OPEN@@'), writes: ['description'], ...MISMATCH },
  { class: 'mismatch', name: 'X-HTTP-Method-Override: POST on a GET', path: '/wp-json/wp/v2/tags/@@OPEN@@?description=@@M@@', headers: { 'X-HTTP-Method-Override': 'POST' }, assertion: editor('GET', '/wp/v2/tags/@@OPEN@@'), writes: ['description'], ...MISMATCH },
  { class: 'mismatch', name: 'rest_route in the form body, another route', method: 'POST', path: '/wp-json/wp/v2/tags', ...form('rest_route=/wp/v2/categories&name=@@M@@'), assertion: editor('POST', '/wp/v2/tags'), writes: ['tag', 'category'], ...MISMATCH },
  { class: 'mismatch', name: 'rest_route in a multipart body, another route', method: 'POST', path: '/wp-json/wp/v2/tags', ...multipart([['rest_route', '/wp/v2/categories'], ['name', '@@M@@']]), assertion: editor('POST', '/wp/v2/tags'), writes: ['tag', 'category'], ...MISMATCH },
  { class: 'mismatch', name: 'rest_route in the query, another route', method: 'POST', path: '/?rest_route=/wp/v2/categories', ...json({ name: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags'), writes: ['tag', 'category'], ...MISMATCH },
  { class: 'mismatch', name: 'rest_route in the query on a REST path', path: '/wp-json/wp/v2/posts?rest_route=/wp/v2/users', assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/posts' }), ...MISMATCH },
  { class: 'mismatch', name: 'a trailing newline (WordPress matches /wp/v2/users)', path: '/?rest_route=/wp/v2/users%0A', assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/posts' }), ...MISMATCH },
  { class: 'mismatch', name: 'HEAD with a GET assertion', method: 'HEAD', path: '/wp-json/wp/v2/users/me', assertion: as(ME), status: 403 },
  { class: 'mismatch', name: 'OPTIONS (the schema) with a GET assertion', method: 'OPTIONS', path: '/wp-json/wp/v2/settings', assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/settings' }), ...MISMATCH },
  { class: 'mismatch', name: 'a batch with an assertion for its first sub-request', ...batch([named('/wp/v2/tags')]), assertion: editor('POST', '/wp/v2/tags'), writes: ['tag'], ...MISMATCH },
  { class: 'mismatch', name: 'a batch assertion on a plain write', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['tag'], ...MISMATCH },
  { class: 'mismatch', name: 'a bridge route with a client\'s assertion', path: '/wp-json/gateway-bridge/v1/users/1', assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/gateway-bridge/v1/users/1' }), status: 403, code: 'gateway_forbidden' },
  { class: 'mismatch', name: 'provisioning with a client\'s assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/users/provision', ...json({ provider: 'x', subject: 'y', default_role: 'administrator', create: true }), assertion: as({ sub: '1', via: 'jwt', mth: 'POST', rte: '/gateway-bridge/v1/users/provision' }), status: 403, code: 'gateway_forbidden' },
  { class: 'mismatch', name: 'provisioning with no assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/users/provision', ...json({ provider: 'x', subject: 'y', default_role: 'administrator', create: true }), status: 401, code: 'gateway_assertion_required' },
  // The accounts' routes: a client's assertion (even an administrator's) or none may not register, mail or set passwords.
  { class: 'mismatch', name: 'registration with a client\'s assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/register', ...json({ username: 'forged', email: 'forged@example.test', password: 'Kestrel-violin-7', open: true }), assertion: as({ sub: '1', via: 'jwt', mth: 'POST', rte: '/gateway-bridge/v1/register' }), status: 403, code: 'gateway_forbidden' },
  { class: 'mismatch', name: 'registration with no assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/register', ...json({ username: 'forged', email: 'forged@example.test', open: true }), status: 401, code: 'gateway_assertion_required' },
  { class: 'mismatch', name: 'a reset mail with a client\'s assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/password/forgot', ...json({ login: 'admin', send: true, reset_url: 'https://evil.example/?k={key}&l={login}' }), assertion: as({ via: 'jwt', mth: 'POST', rte: '/gateway-bridge/v1/password/forgot' }), status: 403, code: 'gateway_forbidden' },
  { class: 'mismatch', name: 'a password reset with a client\'s assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/password/reset', ...json({ login: 'admin', key: 'x', password: 'Kestrel-violin-7' }), assertion: as({ sub: '1', via: 'jwt', mth: 'POST', rte: '/gateway-bridge/v1/password/reset' }), status: 403, code: 'gateway_forbidden' },
  { class: 'mismatch', name: 'setting a password with an administrator\'s assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/password/set', ...json({ user_id: 1, password: 'Kestrel-violin-7' }), assertion: as({ sub: '1', via: 'jwt', mth: 'POST', rte: '/gateway-bridge/v1/password/set' }), status: 403, code: 'gateway_forbidden' },
  { class: 'mismatch', name: 'setting a password with no assertion', method: 'POST', path: '/wp-json/gateway-bridge/v1/password/set', ...json({ user_id: 1, password: 'Kestrel-violin-7' }), status: 401, code: 'gateway_assertion_required' },

  // URL parameters: the route's own must be what the request acts on.
  { class: 'override', name: '/wp/v2/users/5?id=1', path: '/wp-json/wp/v2/users/5?id=1', assertion: as({ sub: '5', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/5' }), ...OVERRIDE },
  { class: 'override', name: 'rest_route=/wp/v2/users/5&id=1', path: '/?rest_route=/wp/v2/users/5&id=1', assertion: as({ sub: '5', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/5' }), ...OVERRIDE },
  { class: 'override', name: 'a tag, ?id= another', method: 'POST', path: '/wp-json/wp/v2/tags/@@OPEN@@?id=@@OTHER@@', ...json({ description: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags/@@OPEN@@'), writes: ['description'], ...OVERRIDE },
  { class: 'override', name: 'a tag, id in the JSON body', method: 'POST', path: '/wp-json/wp/v2/tags/@@OPEN@@', ...json({ id: '@@OTHER@@', description: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags/@@OPEN@@'), writes: ['description'], ...OVERRIDE },
  { class: 'override', name: 'a tag, id in the form body', method: 'POST', path: '/wp-json/wp/v2/tags/@@OPEN@@', ...form('id=@@OTHER@@&description=@@M@@'), assertion: editor('POST', '/wp/v2/tags/@@OPEN@@'), writes: ['description'], ...OVERRIDE },
  { class: 'override', name: 'a tag, id as an array (WordPress\'s own validation refuses it first)', method: 'POST', path: '/wp-json/wp/v2/tags/@@OPEN@@?id[]=@@OTHER@@', ...json({ description: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags/@@OPEN@@'), writes: ['description'], status: 400, code: 'rest_invalid_param' },
  { class: 'override', name: 'batch: a tag, ?id= another', ...batch([{ method: 'POST', path: '/wp/v2/tags/@@OPEN@@?id=@@OTHER@@', body: { description: '@@M@@' } }]), assertion: editor('POST', '/batch/v1', { bat: [['POST', '/wp/v2/tags/@@OPEN@@']] }), writes: ['description'], status: 207, code: 'gateway_param_override' },
  { class: 'override', name: 'batch: a tag, id in the body', ...batch([{ method: 'POST', path: '/wp/v2/tags/@@OPEN@@', body: { id: '@@OTHER@@', description: '@@M@@' } }]), assertion: editor('POST', '/batch/v1', { bat: [['POST', '/wp/v2/tags/@@OPEN@@']] }), writes: ['description'], status: 207, code: 'gateway_param_override' },

  // Site-only assertions ("no REST, no user") on the REST API.
  { class: 'site', name: 'a public route', path: '/wp-json/wp/v2/posts', assertion: SITE, ...NOT_REST },
  { class: 'site', name: 'users by rest_route', path: '/?rest_route=/wp/v2/users', assertion: SITE, ...NOT_REST },
  { class: 'site', name: 'users by PATH_INFO after readme.html', path: '/readme.html/wp-json/wp/v2/users', assertion: SITE, ...NOT_REST },
  { class: 'site', name: 'users by rest_route in a form body', method: 'POST', path: '/', ...form('rest_route=/wp/v2/users'), assertion: SITE_POST, ...NOT_REST },
  { class: 'site', name: 'a write', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), assertion: SITE_POST, writes: ['tag'], ...NOT_REST },
  { class: 'site', name: 'a write with the editor\'s cookie and nonce', method: 'POST', path: '/wp-json/wp/v2/tags', headers: { ...JSON_TYPE, 'X-WP-Nonce': '@@NONCE@@' }, body: JSON.stringify({ name: '@@M@@' }), assertion: SITE_POST, cookie: 'editor', writes: ['tag'], ...NOT_REST },
  { class: 'site', name: 'a batch', ...batch([named('/wp/v2/tags')]), assertion: SITE_POST, writes: ['tag'], ...NOT_REST },

  // A REST assertion's sub does not apply outside the REST dispatch it names.
  { class: 'entry', name: 'admin-ajax rest-nonce, the editor\'s REST assertion', path: '/wp-admin/admin-ajax.php?action=rest-nonce', assertion: editor('GET', '/wp/v2/users/me'), ...AJAX_ANONYMOUS },
  { class: 'entry', name: 'admin-ajax rest-nonce, the administrator\'s assertion for /', path: '/wp-admin/admin-ajax.php?action=rest-nonce', assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/' }), ...AJAX_ANONYMOUS },
  { class: 'entry', name: 'admin-ajax rest-nonce, a REST assertion outweighs the editor\'s own cookie', path: '/wp-admin/admin-ajax.php?action=rest-nonce', assertion: editor('GET', '/wp/v2/users/me'), cookie: 'editor', ...AJAX_ANONYMOUS },
  { class: 'entry', name: 'admin-ajax rest-nonce, no assertion at all', path: '/wp-admin/admin-ajax.php?action=rest-nonce', ...AJAX_ANONYMOUS },
  { class: 'entry', name: 'admin-ajax POST, the editor\'s REST assertion', method: 'POST', path: '/wp-admin/admin-ajax.php?action=rest-nonce', ...form('action=rest-nonce'), assertion: editor('POST', '/wp/v2/users/me'), ...AJAX_ANONYMOUS },
  { class: 'entry', name: 'wp-comments-post.php, the editor\'s REST assertion: an anonymous visitor must give name and email', method: 'POST', path: '/wp-comments-post.php', ...COMMENT, assertion: editor('POST', '/wp/v2/comments'), writes: ['comment'], status: 200, match: /fill the required fields/ },
  { class: 'entry', name: 'wp-comments-post.php, the editor\'s assertion for exactly that path', method: 'POST', path: '/wp-comments-post.php', ...COMMENT, assertion: editor('POST', '/wp-comments-post.php'), writes: ['comment'], status: 200, match: /fill the required fields/ },
  { class: 'entry', name: 'wp-login.php confirm_admin_email, the administrator\'s REST assertion', path: '/wp-login.php?action=confirm_admin_email', assertion: as(ME), status: 302, location: /\/wp-login\.php$/ },
  { class: 'entry', name: 'wp-login.php?rest_route=, the administrator\'s assertion for that route', path: '/wp-login.php?rest_route=/wp/v2/users/me&action=confirm_admin_email', assertion: as(ME), status: 302, location: /\/wp-login\.php$/ },
  { class: 'entry', name: 'a theme page, the administrator\'s REST assertion', path: '/hello-world/', assertion: as(ME), status: 200, match: /<body/ },
  { class: 'entry', name: 'the dashboard, the administrator\'s REST assertion', path: '/wp-admin/', assertion: as(ME), status: 302, location: /\/wp-login\.php\?/ },

  // Batches: only the sub-requests on the `bat` list run.
  { class: 'batch', name: 'a sub-request not on the list', ...batch([named('/wp/v2/categories')]), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['category'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'one on the list, one not: only the listed one runs', ...batch([named('/wp/v2/tags'), named('/wp/v2/categories')]), assertion: editor('POST', '/batch/v1', { bat: [['POST', '/wp/v2/tags'], ['POST', '/wp/v2/tags']] }), writes: ['category'], creates: ['tag'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'listed with another method', ...batch([{ method: 'POST', path: '/wp/v2/tags/@@OPEN@@', body: { description: '@@M@@' } }]), assertion: editor('POST', '/batch/v1', { bat: [['PUT', '/wp/v2/tags/@@OPEN@@']] }), writes: ['description'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'a fragment hides the route WordPress runs', ...batch([named('/wp/v2/categories#/wp/v2/tags')]), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['category'], ...SUB_FORBIDDEN },
  { class: 'batch', name: '//host/path (WordPress drops the host)', ...batch([named('//evil.example/wp/v2/categories')]), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['category'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'a scheme and host', ...batch([named('http://evil.example/wp/v2/categories')]), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['category'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'requests in the query (a text/plain body)', method: 'POST', path: '/wp-json/batch/v1?requests[0][path]=/wp/v2/categories&requests[0][body][name]=@@M@@', headers: { 'Content-Type': 'text/plain' }, body: JSON.stringify({ requests: [named('/wp/v2/tags')] }), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['category'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'requests in a form body', method: 'POST', path: '/wp-json/batch/v1', ...form('requests[0][path]=/wp/v2/categories&requests[0][body][name]=@@M@@'), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), writes: ['category'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'a batch assertion without a list', ...batch([named('/wp/v2/tags')]), assertion: editor('POST', '/batch/v1'), writes: ['tag'], ...SUB_FORBIDDEN },
  { class: 'batch', name: 'a batch in the batch', ...batch([{ method: 'POST', path: '/batch/v1', body: { requests: [named('/wp/v2/tags')] } }]), assertion: editor('POST', '/batch/v1', { bat: [['POST', '/batch/v1']] }), writes: ['tag'], status: 207, code: 'rest_batch_not_allowed' },

  // Embeds: only what the caller's GET rules (`emb`) allow.
  { class: 'embed', name: 'the author, users forbidden', path: EMBED_AUTHOR, assertion: anonymousPosts({ r: [['/gateway-bridge*', 0], ['/wp/v2/users*', 0]], d: 1 }), status: 200, match: /gateway_subrequest_forbidden/ },
  { class: 'embed', name: 'the author, users forbidden by a rule in upper case', path: EMBED_AUTHOR, assertion: anonymousPosts({ r: [['/WP/V2/USERS*', 0]], d: 1 }), status: 200, match: /gateway_subrequest_forbidden/ },
  { class: 'embed', name: 'the author, user 1 forbidden by an exact rule', path: '/wp-json/wp/v2/posts/1?_embed', assertion: as({ via: 'none', mth: 'GET', rte: '/wp/v2/posts/1', emb: { r: [['/wp/v2/users/1', 0]], d: 1 } }), status: 200, match: /gateway_subrequest_forbidden/ },
  { class: 'embed', name: 'everything, nothing allowed by default', path: '/wp-json/wp/v2/posts/1?_embed', assertion: as({ via: 'none', mth: 'GET', rte: '/wp/v2/posts/1', emb: { r: [], d: 0 } }), status: 200, match: /gateway_subrequest_forbidden/ },
  { class: 'embed', name: 'no embed rules at all', path: EMBED_AUTHOR, assertion: anonymousPosts(), status: 200, match: /gateway_subrequest_forbidden/ },
  { class: 'embed', name: '.embed is _embed', path: '/wp-json/wp/v2/posts?.embed=author', assertion: anonymousPosts(), status: 200, match: /gateway_subrequest_forbidden/ },
  { class: 'embed', name: 'the administrator, users forbidden', path: EMBED_AUTHOR, assertion: as({ sub: '1', via: 'jwt', mth: 'GET', rte: '/wp/v2/posts', emb: { r: [['/wp/v2/users*', 0]], d: 1 } }), status: 200, match: /gateway_subrequest_forbidden/ },

  // Controls: a genuine assertion for exactly the request works; WordPress's own logins work where they belong.
  { class: 'control', name: 'user 1 reads /wp/v2/users/me', path: '/wp-json/wp/v2/users/me', assertion: as(ME), status: 200, data: true, match: /^\{"id":1,/ },
  { class: 'control', name: 'the route as WordPress matches it (case, trailing slash)', path: '/wp-json/WP/V2/USERS/ME/', assertion: as(ME), status: 200, data: true, match: /^\{"id":1,/ },
  { class: 'control', name: 'by rest_route', path: '/?rest_route=/wp/v2/users/me', assertion: as(ME), status: 200, data: true, match: /^\{"id":1,/ },
  { class: 'control', name: 'a cookie login: the editor\'s cookie, nonce and an assertion via cookie', path: '/wp-json/wp/v2/users/me', headers: { 'X-WP-Nonce': '@@NONCE@@' }, assertion: as({ sub: '2', via: 'cookie', mth: 'GET', rte: '/wp/v2/users/me' }), cookie: 'editor', status: 200, data: true, match: /^\{"id":2,/ },
  { class: 'control', name: 'user 5 reads user 5, ?id= the same', path: '/wp-json/wp/v2/users/5?id=5', assertion: as({ sub: '5', via: 'jwt', mth: 'GET', rte: '/wp/v2/users/5' }), status: 200, data: true, match: /^\{"id":5,/ },
  { class: 'control', name: 'the editor creates a tag', method: 'POST', path: '/wp-json/wp/v2/tags', ...json({ name: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags'), creates: ['tag'], status: 201 },
  { class: 'control', name: 'the editor\'s batch on the list creates a tag', ...batch([named('/wp/v2/tags')]), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), creates: ['tag'], status: 207, match: /"status":201/ },
  { class: 'control', name: 'the editor\'s batch on the list, in another case', ...batch([named('/WP/V2/TAGS')]), assertion: editor('POST', '/batch/v1', { bat: BAT_TAGS }), creates: ['tag'], status: 207, match: /"status":201/ },
  { class: 'control', name: 'a tag, ?id= the same', method: 'POST', path: '/wp-json/wp/v2/tags/@@OPEN@@?id=@@OPEN@@', ...json({ description: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags/@@OPEN@@'), creates: ['description'], status: 200 },
  { class: 'control', name: 'a tag, ?id= the same number zero-padded (compared once WordPress has sanitised both)', method: 'POST', path: '/wp-json/wp/v2/tags/@@OPEN@@?id=0@@OPEN@@', ...json({ description: '@@M@@' }), assertion: editor('POST', '/wp/v2/tags/@@OPEN@@'), creates: ['description'], status: 200 },
  { class: 'control', name: 'the author embedded where the rules allow users', path: EMBED_AUTHOR, assertion: anonymousPosts({ r: [['/gateway-bridge*', 0]], d: 1 }), status: 200, data: true },
  { class: 'control', name: 'admin-ajax rest-nonce with the editor\'s own cookie and a site assertion', path: '/wp-admin/admin-ajax.php?action=rest-nonce', assertion: SITE, cookie: 'editor', status: 200, data: true },
  { class: 'control', name: 'admin-ajax rest-nonce with the editor\'s own cookie', path: '/wp-admin/admin-ajax.php?action=rest-nonce', cookie: 'editor', status: 200, data: true },
  { class: 'control', name: 'wp-login.php confirm_admin_email with the administrator\'s own cookie', path: '/wp-login.php?action=confirm_admin_email', cookie: 'admin', status: 200, data: true },
  { class: 'control', name: 'a theme page with the administrator\'s own cookie', path: '/hello-world/', assertion: SITE, cookie: 'admin', status: 200, data: true },
  { class: 'control', name: 'wp-comments-post.php with the editor\'s own cookie', method: 'POST', path: '/wp-comments-post.php', ...COMMENT, assertion: SITE_POST, cookie: 'editor', creates: ['comment'], status: 302 }
]

const WP = new URL(WP_URL)
const PORT = Number(WP.port)
const label = (c: Case) => `[${CLASSES[c.class]}] ${c.name}`

function send (c: Case, values: Values, cookies: Partial<Record<Login, string>>): Promise<RawResponse> {
  const headers = pairs(c.headers)
  if (c.assertion !== undefined) headers.push(['X-WP-Gateway-Assertion', c.assertion(values)])
  if (c.cookie !== undefined) headers.push(['Cookie', cookies[c.cookie]!])
  return sendRaw(PORT, WP.host, fillRequest({ method: c.method ?? 'GET', path: c.path, headers, ...(c.body === undefined ? {} : { body: c.body }) }, values))
}

/** The administrator, with a genuine assertion for exactly each request. */
async function admin (method: string, route: string, body?: object): Promise<any> {
  const path = route.split('?')[0]!
  const res = await sendRaw(PORT, WP.host, {
    method,
    path: `/wp-json${route}`,
    headers: { 'X-WP-Gateway-Assertion': signer.sign({ sub: '1', via: 'jwt', mth: method, rte: path }), ...(body === undefined ? {} : JSON_TYPE) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  if (res.status >= 300) throw new Error(`${method} ${route}: ${res.status} ${res.body}`)
  return JSON.parse(res.body)
}

/** A login cookie of WordPress's own, from wp-login.php. */
async function wpLogin (user: Login): Promise<string> {
  const res = await sendRaw(PORT, WP.host, {
    method: 'POST',
    path: '/wp-login.php',
    headers: { ...FORM, Cookie: 'wordpress_test_cookie=WP%20Cookie%20check' },
    body: `log=${user}&pwd=${password(user)}&testcookie=1&redirect_to=%2Fwp-admin%2F`
  })
  const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!).filter((c) => c.startsWith('wordpress_')).join('; ')
  if (res.status !== 302 || !/wordpress_logged_in_/.test(cookie)) throw new Error(`wp-login.php did not log ${user} in: ${res.status}`)
  return cookie
}

t.test('bridge corpus: WordPress reached directly', async (t) => {
  t.ok(cases.length >= 80, `${cases.length} cases`)
  t.comment(`cases per class: ${Object.entries(CLASSES).map(([k, what]) => `${what}: ${cases.filter((c) => c.class === k).length}`).join('; ')}`)
  const tag = async (name: string) => String((await admin('POST', '/wp/v2/tags', { name: `bbok-${RUN_ID}-${name}`, description: `${name} tag` })).id)
  const tags = { OPEN: await tag('open'), OTHER: await tag('other') }
  const cookies = { editor: await wpLogin('editor'), admin: await wpLogin('admin') }
  const nonce = await sendRaw(PORT, WP.host, { path: '/wp-admin/admin-ajax.php?action=rest-nonce', headers: { Cookie: cookies.editor } })
  t.match(nonce.body, /^[0-9a-f]{10}$/, 'the editor\'s REST nonce')
  const prefix = `bbx-${RUN_ID}-`
  const markers = new Map<string, Case>()
  const traces = (term: string, kinds?: Trace[]) => readTraces((path) => admin('GET', path), term, [tags.OPEN, tags.OTHER], kinds)

  for (const [i, c] of cases.entries()) {
    const marker = `${prefix}${i}z`
    markers.set(marker, c)
    await t.test(label(c), async (t) => {
      const values: Values = { ...tags, M: marker, NONCE: nonce.body, ME: signer.sign(ME) }
      const res = await send(c, values, cookies)
      t.equal(res.status, c.status, `status ${c.status} (got ${res.status} ${res.body.slice(0, 200)})`)
      if (c.code !== undefined) t.match(res.body, `"code":"${c.code}"`, `code ${c.code}`)
      if (c.match !== undefined) t.match(res.body, c.match, `body matches ${c.match}`)
      if (c.location !== undefined) t.match(res.headers.location?.[0] ?? '', c.location, `redirected to ${c.location}`)
      const found = leaks(res)
      if (c.data === true) t.not(found.length, 0, 'answers with data (control)')
      else t.same(found, [], 'no protected data')
      if (c.writes === undefined && c.creates === undefined) return
      const left = tracesOf(await traces(marker, [...c.writes ?? [], ...c.creates ?? []]), marker)
      for (const kind of c.writes ?? []) t.notOk(left.includes(kind), `no side effect: ${TRACE_LABEL[kind]} holds no ${marker}`)
      for (const kind of c.creates ?? []) t.ok(left.includes(kind), `the control left ${TRACE_LABEL[kind]} holding ${marker}`)
    })
  }

  await t.test('nothing else left a trace', async (t) => {
    const all = await traces(prefix)
    for (const kind of Object.keys(all) as Trace[]) {
      for (const text of all[kind].filter((x) => x.includes(prefix))) {
        const marker = new RegExp(`${prefix}\\d+z`).exec(text)?.[0]
        const c = marker === undefined ? undefined : markers.get(marker)
        t.ok(c?.creates?.includes(kind) === true, `${TRACE_LABEL[kind]} "${text.slice(0, 80)}" was left by ${c === undefined ? 'an unknown case' : label(c)}`)
      }
    }
  })
})
