import { FormBodyRefused } from '../../errors.js'
import { phpVariableName, remember, utf8, type PhpParam, type ReadLimits } from './php-vars.js'

// multipart/form-data, read only where PHP's own parser (main/rfc1867.c) and
// the standard (RFC 7578, RFC 2046 §5.1) agree; everything else is refused.
// PHP finds the boundary by the first "boundary" substring anywhere in the
// header and the next "=", ends values at any "\n--boundary", reads lines
// after the closing delimiter, folds header lines, cuts header lines at 5120
// bytes, ignores the disposition type and aborts the whole parse at a part
// without a name: a body that depends on any of that is not guessed at.

const BOUNDARY = /^[0-9A-Za-z'()+_\-./:=?]{1,70}$/
const HEADER_LINE = /^([A-Za-z0-9-]+):[ \t]*([\x20-\x7e\t]*)$/
const MAX_HEADER_BLOCK = 4096
const CRLF = Buffer.from('\r\n')

/** The boundary of a multipart Content-Type in the one form both readers agree on. */
export function multipartBoundary (contentType: string): string {
  const m = /^multipart\/form-data *;(.*)$/i.exec(contentType)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (m === null || /[,\x00-\x1f\x7f]/.test(contentType)) throw new FormBodyRefused('the multipart Content-Type is not in plain form')
  if ((contentType.toLowerCase().match(/boundary/g) ?? []).length !== 1) throw new FormBodyRefused('the multipart Content-Type must name one boundary')
  let boundary: string | undefined
  for (const param of m[1]!.split(';')) {
    const p = /^ *([A-Za-z0-9_-]+)=("[^"\\]*"|[^" ;]+)$/.exec(param)
    if (p === null) throw new FormBodyRefused('a multipart Content-Type parameter is not in plain form')
    if (p[1]!.toLowerCase() === 'boundary') boundary = p[2]!.startsWith('"') ? p[2]!.slice(1, -1) : p[2]!
  }
  if (boundary === undefined || !BOUNDARY.test(boundary)) throw new FormBodyRefused('the multipart boundary must be 1 to 70 plain characters')
  return boundary
}

/** The named fields of a multipart body, as PHP's $_POST holds them. */
export function readMultipart (contentType: string, body: Buffer, wanted: ReadonlySet<string>, { maxVars }: ReadLimits): Map<string, PhpParam> {
  const delimiter = Buffer.from('--' + multipartBoundary(contentType))
  const found = new Map<string, PhpParam>()
  // Every occurrence of the delimiter must be a whole delimiter line: at the
  // start, or right after CRLF; then CRLF (a part follows) or "--" (the end).
  if (body.indexOf(delimiter) !== 0) throw new FormBodyRefused('the multipart body must start with its boundary')
  let at = 0
  let parts = 0
  for (;;) {
    const after = at + delimiter.length
    if (body[after] === 0x2d && body[after + 1] === 0x2d) {
      const rest = body.subarray(after + 2)
      if (rest.length !== 0 && !rest.equals(CRLF)) throw new FormBodyRefused('nothing may follow the closing boundary')
      return found
    }
    if (body[after] !== 0x0d || body[after + 1] !== 0x0a) throw new FormBodyRefused('a boundary line must end right after the boundary')
    const next = body.indexOf(delimiter, after)
    if (next === -1) throw new FormBodyRefused('the multipart body has no closing boundary')
    if (body[next - 2] !== 0x0d || body[next - 1] !== 0x0a) throw new FormBodyRefused('the boundary appears inside a part')
    if (++parts > maxVars) throw new FormBodyRefused(`more than ${maxVars} parts`)
    readPart(body.subarray(after + 2, next - 2), wanted, found)
    at = next
  }
}

function readPart (part: Buffer, wanted: ReadonlySet<string>, found: Map<string, PhpParam>): void {
  const end = part.indexOf('\r\n\r\n')
  if (part[0] === 0x0d || end === -1 || end > MAX_HEADER_BLOCK) throw new FormBodyRefused('a part\'s headers are missing, unfinished or too long')
  let disposition: string | undefined
  for (const line of part.subarray(0, end).toString('latin1').split('\r\n')) {
    // No folded lines, no bare LF or CR, nothing PHP would cut or join differently.
    const h = HEADER_LINE.exec(line)
    if (h === null) throw new FormBodyRefused('a part header is not in plain form')
    if (h[1]!.toLowerCase() === 'content-disposition') {
      if (disposition !== undefined) throw new FormBodyRefused('a part has two Content-Disposition headers')
      disposition = h[2]!
    }
  }
  if (disposition === undefined) throw new FormBodyRefused('a part has no Content-Disposition')
  const { name, file } = readDisposition(disposition)
  if (file) return // Files go to $_FILES, never to $_POST.
  const v = phpVariableName(name)
  if (v !== null && wanted.has(v.name)) remember(found, v, utf8(part.subarray(end + 4).toString('latin1')))
}

/** `form-data; name="x"` with an optional `filename`: one of each at most, plainly quoted. */
function readDisposition (value: string): { name: string, file: boolean } {
  const [type, ...params] = value.split(';')
  if (type!.trim().toLowerCase() !== 'form-data') throw new FormBodyRefused('a part is not form-data')
  const seen = new Map<string, string>()
  for (const param of params) {
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    const p = /^ *(name|filename)=(?:"([^"\\\x00-\x1f]*)"|([A-Za-z0-9_.\-[\]]+))$/i.exec(param)
    if (p === null) throw new FormBodyRefused('a Content-Disposition parameter is not in plain form')
    const key = p[1]!.toLowerCase()
    if (seen.has(key)) throw new FormBodyRefused(`a part has two ${key} parameters`)
    seen.set(key, p[2] ?? p[3]!)
  }
  const name = seen.get('name')
  if (name === undefined || name === '') throw new FormBodyRefused('a part has no name')
  return { name, file: seen.has('filename') }
}
