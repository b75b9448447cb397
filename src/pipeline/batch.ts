import type { IncomingHttpHeaders } from 'node:http'
import { Type, type Static } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { BadRequest, BatchForbidden, RouteAmbiguous } from '../errors.js'
import type { Identity } from './authenticate/identity.js'
import { authorize } from './authorize.js'
import type { Policy } from './policy.js'
import { canonicalRoute } from './resolve/index.js'
import { readQuery } from './resolve/php-vars.js'

// The batch route (/batch/v1, class-wp-rest-server.php serve_batch_request_v1)
// runs many requests in one, inside WordPress: each is judged here as if it
// had come alone, and one refusal refuses the whole batch. The gateway judges
// exactly what WordPress runs: `requests` is read by WP_REST_Request::get_param
// from a JSON body first, then $_POST, then $_GET; so it is accepted only
// from a JSON body WordPress reads as JSON, and refused anywhere else.

export const BATCH_ROUTE = '/batch/v1'

const BatchBody = Type.Object({
  requests: Type.Array(Type.Object({
    // WordPress allows only these for sub-requests, POST by default, case-sensitive.
    method: Type.Optional(Type.Union(['POST', 'PUT', 'PATCH', 'DELETE'].map((m) => Type.Literal(m)))),
    path: Type.String({ minLength: 1, maxLength: 2048 })
  }), { minItems: 1, maxItems: 25 })
})
type BatchBody = Static<typeof BatchBody>

// wp_is_json_media_type() (load.php), on the Content-Type up to a `;` that is not its first character (WP_REST_Request::get_content_type).
const JSON_MEDIA_TYPE = /(^|\s|,)application\/([\w!#$&-^.+]+\+)?json(\+oembed)?($|\s|;|,)/i
// A sub-request's path as wp_parse_url() splits it: no scheme, host, fragment or anything it would mangle.
const SUB_PATH = /^(\/[A-Za-z0-9\-._~!$&'()*+,;=@/]*)(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%[\]]*)?$/
const WANTED = new Set(['requests'])
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Whether WordPress reads this request's body as JSON. */
export function isJsonContentType (contentType: string | undefined): boolean {
  if (contentType === undefined || contentType === '') return false
  const semi = contentType.indexOf(';')
  const value = (semi > 0 ? contentType.slice(0, semi) : contentType).toLowerCase().trim()
  return value.includes('/') && JSON_MEDIA_TYPE.test(value)
}

/** The (method, route) of every sub-request, once each has been authorised for this caller. */
export function judgeBatch (body: Buffer, headers: IncomingHttpHeaders, rawQuery: string, maxVars: number, policy: Policy, identity: Identity | null): Array<[string, string]> {
  if (readQuery(rawQuery, WANTED, { maxVars }).has('requests')) throw new RouteAmbiguous('batch requests may only come in the JSON body')
  if (!isJsonContentType(headers['content-type'])) throw new BadRequest('A batch request must have a JSON body (Content-Type: application/json).')
  let parsed: unknown
  try {
    // PHP's json_decode refuses invalid UTF-8, a byte order mark and lone
    // UTF-16 surrogates; WordPress would then read `requests` elsewhere.
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body), (key, value: unknown) => {
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) throw new Error('a lone surrogate')
      return value
    })
  } catch {
    throw new BadRequest('The batch body is not JSON.')
  }
  if (!Value.Check(BatchBody, parsed)) throw new BadRequest('The batch body must be {"requests": [{"method", "path"}]} with 1 to 25 requests.')
  return (parsed as BatchBody).requests.map((sub, i) => {
    const m = SUB_PATH.exec(sub.path)
    if (m === null) throw new RouteAmbiguous(`batch request ${i} has a path WordPress might read differently`)
    const route = canonicalRoute(m[1]!)
    const method = sub.method ?? 'POST'
    if (/^\/(api\/v1|gateway-bridge|batch\/v1)(\/|$)/.test(route)) throw new BatchForbidden(i, `${route} cannot be batched`)
    try {
      authorize(policy.decide(route, method), identity)
    } catch (err) {
      throw new BatchForbidden(i, (err as Error).message)
    }
    return [method, route]
  })
}
