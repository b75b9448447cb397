import type { IncomingMessage } from 'node:http'
import { HeaderRefused } from '../../errors.js'

// PHP and the web servers in front of it turn header names into CGI
// variables: `HTTP_` + upper case, `-` to `_`; PHP's built-in server and
// nginx with underscores allowed map `_` and `.` the same way, so
// `X.WP.Gateway.Assertion` and `X_WP_Gateway_Assertion` reach WordPress as
// HTTP_X_WP_GATEWAY_ASSERTION (sapi/cli/php_cli_server.c, php_register_variable_ex).
// The forward stage sends only names of letters, digits and `-`, whose CGI
// name is their own; a client that spells a header the gateway reads or
// writes any other way is refused, so that it learns why.

const PLAIN = /^[A-Za-z0-9-]+$/
/** Headers WordPress must see once, exactly as the gateway read them. */
const ONCE = new Set(['content-type', 'content-length', 'host', 'cookie', 'x-http-method-override', 'x-wp-nonce', 'transfer-encoding'])

/** The CGI-equivalent spelling: lower case, every run of other characters one `-`. */
export function cgiName (name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-')
}

export function checkHeaders (raw: IncomingMessage, guarded: ReadonlySet<string>): void {
  const seen = new Set<string>()
  const h = raw.rawHeaders
  for (let i = 0; i < h.length; i += 2) {
    const name = h[i]!
    if (!PLAIN.test(name)) {
      const cgi = cgiName(name)
      if (guarded.has(cgi) || ONCE.has(cgi) || cgi.startsWith('x-wp-gateway')) throw new HeaderRefused(JSON.stringify(name), `PHP reads it as ${cgi}`)
      continue
    }
    const lower = name.toLowerCase()
    if (!ONCE.has(lower)) continue
    if (seen.has(lower)) throw new HeaderRefused(lower, 'it may be sent only once')
    seen.add(lower)
  }
}

/** Whether a header (name as Node gives it, lower case) may go on to WordPress at all. */
export function forwardable (name: string): boolean {
  return PLAIN.test(name)
}
