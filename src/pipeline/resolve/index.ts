import type { IncomingHttpHeaders } from 'node:http'
import { JsonpDisabled, MethodUnsupported, RouteAmbiguous } from '../../errors.js'
import { readPath, type SitePage } from './path.js'
import { readQuery, utf8, type PhpParam, type ReadLimits } from './php-vars.js'
import { formKind, readPost, type FormKind } from './php-post.js'
import { canonicalRoute } from './route.js'

export { canonicalRoute } from './route.js'
export type { SitePage } from './path.js'

// Stage 1 (docs/architecture.md §3): work out what PHP and WordPress will do with a
// request, from exactly what is forwarded, and refuse whatever cannot be
// read with certainty. In two steps: the head (method, path, query,
// headers) decides almost every request before its body is read; a POST
// form to the front controller may still name its route in the body
// (`rest_route` in $_POST), which `withBody` reads.

export type Resolved =
  /** A WordPress REST request: canonical (lower-case, untrailingslashed) route and effective method. */
  | { kind: 'rest', route: string, method: string, embed: boolean } & Upstream
  /** One of the gateway's own endpoints reached through an alias it does not serve. */
  | { kind: 'gateway', route: string, method: string, embed: boolean } & Upstream
  /** The bridge's internal namespace: never reachable by clients. */
  | { kind: 'internal', route: string, method: string, embed: boolean } & Upstream
  /** Anything that is not the REST API: the site, wp-admin, wp-login.php, xmlrpc.php. */
  | { kind: 'site', route: null, method: string, page: SitePage } & Upstream

/** Exactly what is forwarded: the path and the query as the client sent them. */
export interface Upstream { path: string, query: string }

/** A head that a POST form body may still change: resolve it again with `withBody`. */
export interface Pending {
  resolved: Resolved
  form: FormKind
  contentType: string
  query: Map<string, PhpParam>
  /** Whether the path is the front controller's own (`/`, `/index.php`). */
  front: boolean
}

export type ResolveOptions = ReadLimits

export const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
const QUERY_PARAMS = new Set(['rest_route', '_method', '_jsonp', '_embed'])
const BODY_PARAMS = new Set(['rest_route'])
const GATEWAY_NAMESPACE = /^\/api\/v1(?:\/|$)/
const INTERNAL_NAMESPACE = /^\/gateway-bridge(?:\/|$)/

/** Reads the head of a request: the final answer, or what the body must still settle. */
export function resolveHead (httpMethod: string, rawUrl: string, headers: IncomingHttpHeaders, opts: ResolveOptions): Resolved | Pending {
  if (!METHODS.has(httpMethod)) throw new MethodUnsupported()
  const q = rawUrl.indexOf('?')
  const path = q === -1 ? rawUrl : rawUrl.slice(0, q)
  const query = q === -1 ? '' : rawUrl.slice(q + 1)
  const reading = readPath(path)
  const params = readQuery(query, QUERY_PARAMS, opts)
  const queryRoute = routeParam(params.get('rest_route'))
  const upstream = { path, query }

  // rest_route counts where WordPress's front controller runs, and only there
  // is it accepted: on any other path the script that runs depends on the server.
  if (queryRoute !== undefined && reading.kind !== 'front') throw new RouteAmbiguous('rest_route is only read on / and /index.php')
  const form = formKind(httpMethod, headers['content-type'])

  let resolved: Resolved
  if (reading.kind === 'rest') resolved = rest(httpMethod, canonicalRoute(utf8(reading.route)), params, headers, upstream)
  else if (reading.kind === 'front' && queryRoute !== undefined && queryRoute !== '') resolved = rest(httpMethod, queryRoute, params, headers, upstream)
  else resolved = { kind: 'site', route: null, method: httpMethod, page: reading.kind === 'front' ? 'other' : reading.page, ...upstream }

  // $_POST's rest_route beats the path and the query wherever the front
  // controller runs, which the gateway cannot know for any path: every POST
  // form is read before it is forwarded.
  if (form !== null) return { resolved, form, contentType: headers['content-type']!, query: params, front: reading.kind === 'front' }
  return resolved
}

/** Settles a pending head with its body: $_POST's rest_route must agree with everything else, or it decides. */
export function withBody (pending: Pending, body: Buffer, headers: IncomingHttpHeaders, opts: ResolveOptions): Resolved {
  const bodyRoute = routeParam(readPost(pending.form, pending.contentType, body, BODY_PARAMS, opts).get('rest_route'))
  const { resolved } = pending
  if (bodyRoute === undefined) return resolved
  // Where $_GET and $_POST both hold one and they differ, WordPress dies with
  // "A variable mismatch has been detected" (class-wp.php, parse_request); an
  // empty one turns a REST path into a site page; refused, both.
  const queryRoute = routeParam(pending.query.get('rest_route'))
  if (queryRoute !== undefined && queryRoute !== bodyRoute) throw new RouteAmbiguous('the query and the body name different routes')
  if (resolved.kind !== 'site') {
    if (bodyRoute !== resolved.route) throw new RouteAmbiguous('the path and the body name different routes')
    return resolved
  }
  if (bodyRoute === '') return resolved
  if (!pending.front) throw new RouteAmbiguous('rest_route is only read on / and /index.php')
  return rest(resolved.method, bodyRoute, pending.query, headers, { path: resolved.path, query: resolved.query })
}

export const isPending = (r: Resolved | Pending): r is Pending => 'form' in r

function rest (httpMethod: string, route: string, params: Map<string, PhpParam>, headers: IncomingHttpHeaders, upstream: Upstream): Resolved {
  // JSONP answers any page that includes the script, with the caller's cookies (class-wp-rest-server.php, serve_request).
  if (params.has('_jsonp')) throw new JsonpDisabled()
  const override = params.get('_method')
  if (override?.array === true) throw new RouteAmbiguous('_method must be a plain value')
  const method = effectiveMethod(httpMethod, override?.value, headers['x-http-method-override'])
  const kind = GATEWAY_NAMESPACE.test(route) ? 'gateway' : INTERNAL_NAMESPACE.test(route) ? 'internal' : 'rest'
  return { kind, route, method, embed: params.has('_embed'), ...upstream }
}

function routeParam (param: PhpParam | undefined): string | undefined {
  if (param === undefined) return undefined
  if (param.array) throw new RouteAmbiguous('rest_route must be a plain value')
  // WordPress treats an empty rest_route as none (rest_api_loaded: empty()), "0" included.
  return param.value === '' || param.value === '0' ? '' : canonicalRoute(param.value)
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
