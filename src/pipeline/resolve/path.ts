import { RouteAmbiguous, RouteNotFound } from '../../errors.js'

// Which PHP script a path runs, and what WordPress's front controller makes
// of it (class-wp.php, WP::parse_request; rest-api.php,
// rest_api_register_rewrites). Servers disagree on the details: PHP's
// built-in server walks up to the longest existing file and passes the rest
// as PATH_INFO, nginx rewrites unknown paths to index.php, Apache serves or
// refuses; WordPress trims slashes, urldecodes and prefers PATH_INFO. So only
// paths whose reading does not depend on any of that are accepted.

export type SitePage = 'xmlrpc' | 'login' | 'other'

export type PathReading =
  /** The REST API by permalink: `/wp-json/<route>` or `/index.php/wp-json/<route>`; `route` decoded, not yet canonical. */
  | { kind: 'rest', route: string }
  /** WordPress's front controller itself (`/`, `/index.php`): the only paths where `rest_route` counts. */
  | { kind: 'front' }
  /** Any other page, named by the script that runs it. */
  | { kind: 'site', page: SitePage }

// RFC 3986 pchar and "/", percent escapes included; no backslash, no raw byte beyond ASCII.
const RAW_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/
// Escapes that would decode into structure: "/", "\", ".", "%", "?", "#", NUL and control characters.
const STRUCTURAL_ESCAPE = /%(?:2[EeFf35]|5[Cc]|3[Ff]|[01][0-9A-Fa-f]|7[Ff])/
const MALFORMED_ESCAPE = /%(?![0-9A-Fa-f]{2})/
const PREFIX = 'wp-json'

export function readPath (rawPath: string): PathReading {
  if (!RAW_PATH.test(rawPath) || MALFORMED_ESCAPE.test(rawPath) || STRUCTURAL_ESCAPE.test(rawPath)) {
    throw new RouteAmbiguous('the path must be plain: no backslashes, no escaped slashes, dots or control characters')
  }
  const decoded = rawPath.includes('%') ? Buffer.from(decodeURIComponentBytes(rawPath)).toString('latin1') : rawPath
  const segments = decoded.split('/').slice(1)
  // A trailing slash leaves one empty last segment; any other empty or dot segment is refused.
  const inner = segments.at(-1) === '' ? segments.slice(0, -1) : segments
  if (inner.some((s) => s === '' || s === '.' || s === '..')) throw new RouteAmbiguous('the path holds empty or dot segments')
  if (inner.length === 0) return { kind: 'front' }
  // The gateway's own namespace: whatever it does not serve is its 404, never WordPress's.
  if (inner[0]!.toLowerCase() === '_gateway') throw new RouteNotFound()

  // The REST prefix anywhere but at the start (or after index.php) is what a
  // server's PATH_INFO can turn into a REST request: refused, in any case.
  const prefixAt = inner.findIndex((s) => s.toLowerCase() === PREFIX)
  const indexPhp = inner[0] === 'index.php'
  if (prefixAt !== -1) {
    if (inner[prefixAt] !== PREFIX || !(prefixAt === 0 || (prefixAt === 1 && indexPhp))) throw new RouteAmbiguous(`the REST prefix ${PREFIX} may only open the path`)
    // WordPress captures the route from the raw path when the raw prefix
    // matches (class-wp.php, parse_request) and keeps its escapes, which then
    // match no route; from the decoded path only when the prefix was escaped.
    // Either way an escape leaves the route in doubt: refused.
    if (rawPath.includes('%')) throw new RouteAmbiguous('a REST path may not hold escapes')
    return { kind: 'rest', route: '/' + inner.slice(prefixAt + 1).join('/') + (segments.at(-1) === '' && inner.length > prefixAt + 1 ? '/' : '') }
  }
  if (indexPhp) return inner.length === 1 ? { kind: 'front' } : { kind: 'site', page: 'other' }

  // A script followed by more path (PATH_INFO) runs that script on one server
  // and index.php on another.
  const script = inner.findIndex((s) => /\.php$/i.test(s))
  if (script !== -1 && script !== inner.length - 1) throw new RouteAmbiguous('a path may not go on after a PHP script')
  return { kind: 'site', page: sitePage(inner) }
}

/** The non-REST entry points with logins of their own, matched without regard to case (stricter than any file system). */
function sitePage (segments: string[]): SitePage {
  if (segments.length !== 1) return 'other'
  const file = segments[0]!.toLowerCase()
  return file === 'xmlrpc.php' ? 'xmlrpc' : file === 'wp-login.php' ? 'login' : 'other'
}

function decodeURIComponentBytes (s: string): number[] {
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(s.charCodeAt(i))
  }
  return bytes
}
