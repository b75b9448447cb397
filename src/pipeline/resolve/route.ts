import { RouteAmbiguous } from '../../errors.js'

/**
 * The route as WordPress matches it: untrailingslashed, case-folded (routes
 * match with the `i` flag, class-wp-rest-server.php match_request_to_handler).
 * Anything WordPress might read differently from the gateway is refused:
 * leftover escapes (double encoding), backslashes, control characters,
 * spaces and fragments, empty or dot segments, numbers with leading zeros,
 * a missing leading slash.
 */
export function canonicalRoute (route: string): string {
  if (route[0] !== '/') throw new RouteAmbiguous('the REST route must start with /')
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[%\\\s#?\x00-\x1f\x7f]/.test(route)) throw new RouteAmbiguous('the REST route holds escapes, backslashes, fragments or control characters')
  const trimmed = route.replace(/\/+$/, '') || '/'
  if (/\/\/|\/\.\.?(?:\/|$)/.test(trimmed)) throw new RouteAmbiguous('the REST route holds empty or dot segments')
  // WordPress reads (?P<id>[\d]+) as a number: /tags/09 is tag 9, which a rule on /tags/9 must not miss.
  if (/\/0\d/.test(trimmed)) throw new RouteAmbiguous('a number in the REST route has a leading zero')
  return trimmed.toLowerCase()
}
