import type { IncomingHttpHeaders } from 'node:http'
import { JsonpDisabled, MethodUnsupported, RouteAmbiguous } from '../errors.js'
import { phpUrlDecode, readPhpParams, type PhpParam } from './php-query.js'
import { isFormBody, readBodyParams } from './php-body.js'

// Stage 1 (DESIGN §2): work out what WordPress will do with a request, from
// exactly the URL that will be forwarded, and refuse whatever cannot be
// classified with certainty.

export type Resolved =
  /** A WordPress REST request: canonical (lower-case, untrailingslashed) route and effective method. */
  | { kind: 'rest', route: string, method: string, embed: boolean } & Upstream
  /** One of the gateway's own endpoints reached through an alias it does not serve. */
  | { kind: 'gateway', route: string, method: string, embed: boolean } & Upstream
  /** The bridge's internal namespace: never reachable by clients. */
  | { kind: 'internal', route: string, method: string, embed: boolean } & Upstream
  /** Anything that is not the REST API: the site, wp-admin, wp-login.php, xmlrpc.php. */
  | { kind: 'site', route: null, method: string, page: SitePage } & Upstream

export type SitePage = 'xmlrpc' | 'login' | 'other'

/** Exactly what is forwarded: the normalised path and the query as the client sent it. */
export interface Upstream { path: string, query: string }

export const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const PARAMS = new Set(['rest_route', '_method', '_jsonp', '_embed'])
const BODY_PARAMS = new Set(['rest_route'])
// WordPress's rewrite rules `^wp-json/?$` and `^wp-json/(.*)?` (rest_api_register_rewrites),
// with or without the front controller in front (PATH_INFO). Matched without
// regard to case: stricter than WordPress, never looser.
const REST_PREFIX = /^\/(?:index\.php\/)?wp-json(?=\/|$)/i
const GATEWAY_NAMESPACE = /^\/api\/v1(?:\/|$)/
const INTERNAL_NAMESPACE = /^\/gateway-bridge(?:\/|$)/
const BASE = 'http://gateway.invalid'
// No dot segments, no escapes, nothing `new URL` would rewrite.
const PLAIN_PATH = /^(?:\/[A-Za-z0-9_~!$&'()*+,;=:@-]+(?:\.[A-Za-z0-9_~!$&'()*+,;=:@-]+)*)*\/?$/

export function resolve (httpMethod: string, rawUrl: string, headers: IncomingHttpHeaders, body?: unknown): Resolved {
  if (!METHODS.has(httpMethod)) throw new MethodUnsupported()
  const q = rawUrl.indexOf('?')
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const rawQuery = q === -1 ? '' : rawUrl.slice(q + 1)
  if (rawPath[0] !== '/' || rawPath[1] === '/') throw new RouteAmbiguous('the request target must be a plain path')

  // The forwarding layer sends `new URL(path)`'s serialisation (backslashes
  // turned to slashes, dot segments resolved), so that is what is classified.
  let path = rawPath
  // Most paths are already in normal form; only the others pay for a URL parse.
  if (!PLAIN_PATH.test(rawPath)) {
    try {
      path = new URL(rawPath, BASE).pathname
    } catch {
      throw new RouteAmbiguous('the path cannot be parsed')
    }
  }

  // WordPress tries its rewrite rules on the raw and on the urldecoded path (class-wp.php, parse_request).
  const decoded = phpUrlDecode(path)
  const prefix = REST_PREFIX.exec(path) ?? (decoded === path ? null : REST_PREFIX.exec(decoded))
  const pathRoute = prefix === null ? null : canonicalRoute(decoded.slice(decoded.search(REST_PREFIX) + prefix[0].length) || '/')

  const params = readPhpParams(rawQuery, PARAMS)
  const restRoute = params.get('rest_route')
  const override = params.get('_method')
  if (override?.array === true) throw new RouteAmbiguous('_method must be a plain value')

  // $_POST's rest_route counts for POST requests only; where GET and POST both
  // carry one and they differ, WordPress dies with "A variable mismatch"; here
  // that, and any other disagreement, is refused.
  const contentType = headers['content-type']
  const bodyRoute = httpMethod === 'POST' && Buffer.isBuffer(body) && isFormBody(contentType)
    ? readBodyParams(contentType!, body, BODY_PARAMS).get('rest_route')
    : undefined

  let route = pathRoute
  for (const param of [restRoute, bodyRoute]) {
    const given = routeParam(param)
    if (given === undefined) continue
    // A rest_route beats the permalink in WordPress; two that disagree are refused, not guessed.
    if (pathRoute !== null && given !== pathRoute) throw new RouteAmbiguous('the path and rest_route name different routes')
    if (route !== null && route !== pathRoute && given !== route) throw new RouteAmbiguous('the query and the body name different routes')
    if (given !== '') route = given
  }
  if (route === null) return { kind: 'site', route: null, method: httpMethod, page: sitePage(decoded), path, query: rawQuery }

  // JSONP answers any page that includes the script, with the caller's cookies (class-wp-rest-server.php, serve_request).
  if (params.has('_jsonp')) throw new JsonpDisabled()
  const method = effectiveMethod(httpMethod, override?.value, headers['x-http-method-override'])
  const kind = GATEWAY_NAMESPACE.test(route) ? 'gateway' : INTERNAL_NAMESPACE.test(route) ? 'internal' : 'rest'
  return { kind, route, method, embed: params.has('_embed'), path, query: rawQuery }
}

function routeParam (param: PhpParam | undefined): string | undefined {
  if (param === undefined) return undefined
  if (param.array) throw new RouteAmbiguous('rest_route must be a plain value')
  return param.value === '' ? '' : canonicalRoute(param.value)
}

/** The two non-REST entry points with logins of their own; matched on the decoded path, as the web server reads it. */
function sitePage (decodedPath: string): SitePage {
  const p = decodedPath.toLowerCase()
  if (/^\/xmlrpc\.php(?:\/|$)/.test(p)) return 'xmlrpc'
  if (/^\/wp-login\.php(?:\/|$)/.test(p)) return 'login'
  return 'other'
}

/** WordPress honours `?_method=` first, then X-HTTP-Method-Override (class-wp-rest-server.php, serve_request). */
function effectiveMethod (httpMethod: string, queryOverride: string | undefined, headerOverride: string | string[] | undefined): string {
  let method = httpMethod
  if (queryOverride !== undefined) method = queryOverride.toUpperCase()
  else if (headerOverride !== undefined) {
    if (Array.isArray(headerOverride) || headerOverride.includes(',')) throw new RouteAmbiguous('more than one X-HTTP-Method-Override')
    method = headerOverride.trim().toUpperCase()
  }
  if (!METHODS.has(method)) throw new MethodUnsupported()
  return method
}

/**
 * The route as WordPress matches it: untrailingslashed, case-folded (routes
 * match with the `i` flag). Anything WordPress might read differently from
 * us is refused: leftover escapes (double encoding), backslashes, control
 * characters and spaces, empty or dot segments, a missing leading slash.
 */
export function canonicalRoute (route: string): string {
  if (route[0] !== '/') throw new RouteAmbiguous('the REST route must start with /')
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[%\\\s\x00-\x1f\x7f]/.test(route)) throw new RouteAmbiguous('the REST route holds escapes, backslashes or control characters')
  const trimmed = route.replace(/\/+$/, '') || '/'
  if (/\/\/|\/\.\.?(?:\/|$)/.test(trimmed)) throw new RouteAmbiguous('the REST route holds empty or dot segments')
  return trimmed.toLowerCase()
}
