import { RouteAmbiguous } from '../errors.js'
import { phpVariableName, readPhpParams, type PhpParam } from './php-query.js'

// PHP's $_POST, for the few parameters that decide where WordPress sends a
// request: WordPress takes `rest_route` from a POST body too (class-wp.php,
// parse_request), and PHP fills $_POST only for POST requests with a
// urlencoded or multipart body (main/php_content_types.c, rfc1867.c).

const URLENCODED = /^application\/x-www-form-urlencoded\s*(;|$)/i
const MULTIPART = /^multipart\/form-data\s*;/i

export function isFormBody (contentType: string | undefined): boolean {
  return contentType !== undefined && (URLENCODED.test(contentType) || MULTIPART.test(contentType))
}

export function readBodyParams (contentType: string, body: Buffer, wanted: ReadonlySet<string>): Map<string, PhpParam> {
  if (URLENCODED.test(contentType)) return readPhpParams(body.toString('latin1'), wanted)
  return readMultipart(contentType, body, wanted)
}

function readMultipart (contentType: string, body: Buffer, wanted: ReadonlySet<string>): Map<string, PhpParam> {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  const boundary = m?.[1] ?? m?.[2]
  if (boundary === undefined) throw new RouteAmbiguous('a multipart body without a boundary')
  const found = new Map<string, PhpParam>()
  const text = body.toString('latin1')
  const parts = text.split(`--${boundary}`)
  // parts[0] is the preamble; the last part starts with `--` (the closing delimiter).
  for (const part of parts.slice(1)) {
    if (part.startsWith('--')) break
    const end = part.indexOf('\r\n\r\n')
    if (end === -1) throw new RouteAmbiguous('a multipart part without headers')
    const disposition = /^content-disposition:\s*form-data\s*;(.*)$/im.exec(part.slice(0, end))
    if (disposition === null) continue
    const name = /(?:^|;)\s*name\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(disposition[1]!)
    if (name === null) continue
    const { name: key, array } = phpVariableName(name[1] ?? name[2] ?? '')
    if (!wanted.has(key)) continue
    const value = part.slice(end + 4).replace(/\r\n$/, '')
    const prev = found.get(key)
    found.set(key, { value: Buffer.from(value, 'latin1').toString('utf8'), array: array || (prev?.array ?? false) })
  }
  return found
}
