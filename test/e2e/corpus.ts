import { connect } from 'node:net'
import { randomBytes } from 'node:crypto'

// Shared by the two corpus tests (bypass-corpus: through the gateway;
// bridge-corpus: straight to WordPress): requests written as raw bytes on a
// socket, so that no client library normalises a path, a header name or a
// body, and the checks that tell whether a refusal let anything through.

export type Headers = Record<string, string> | Array<[string, string]>

export interface RawRequest {
  method?: string
  /** The request target, exactly as it goes on the request line. */
  path: string
  /** Sent in this order, spelled as given; duplicates with the array form. */
  headers?: Headers
  /** Sent as is; Content-Length is added unless a Content-Length or Transfer-Encoding header is given. */
  body?: string | Buffer
}

/** A case of a corpus: a named request of a class, with the corpus's placeholders in its path, headers and body. */
export interface CorpusCase<C extends string> extends Omit<RawRequest, 'body'> {
  class: C
  name: string
  body?: string
}

export interface RawResponse {
  status: number
  /** Lower-case names; repeated headers keep every value. */
  headers: Record<string, string[]>
  body: string
}

export function pairs (headers: Headers | undefined): Array<[string, string]> {
  if (headers === undefined) return []
  return Array.isArray(headers) ? headers : Object.entries(headers)
}

/** The bytes of a request: request line, Host first, then the headers as given. */
export function encode (req: RawRequest, host: string): Buffer {
  const headers = pairs(req.headers)
  const lines = [`${req.method ?? 'GET'} ${req.path} HTTP/1.1`]
  if (!headers.some(([n]) => n.toLowerCase() === 'host')) lines.push(`Host: ${host}`)
  for (const [name, value] of headers) lines.push(`${name}: ${value}`)
  const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, 'latin1')
  if (body !== undefined && !headers.some(([n]) => /^(content-length|transfer-encoding)$/i.test(n))) lines.push(`Content-Length: ${body.length}`)
  lines.push('Connection: close')
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'), body ?? Buffer.alloc(0)])
}

/** Sends one request on a fresh connection and reads the answer until the server closes it. */
export function sendRaw (port: number, host: string, req: RawRequest, timeoutMs = 20_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    const socket = connect(port, '127.0.0.1', () => { socket.write(encode(req, host)) })
    socket.setTimeout(timeoutMs, () => { socket.destroy(new Error(`no answer within ${timeoutMs} ms: ${req.method ?? 'GET'} ${req.path}`)) })
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', reject)
    socket.on('close', () => {
      try {
        resolve(parse(Buffer.concat(chunks)))
      } catch (err) {
        reject(err)
      }
    })
  })
}

function parse (raw: Buffer): RawResponse {
  const end = raw.indexOf('\r\n\r\n')
  if (end === -1) throw new Error(`not an HTTP answer: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`)
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1])
  const headers: Record<string, string[]> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).trim().toLowerCase()
    ;(headers[name] ??= []).push(line.slice(colon + 1).trim())
  }
  let body = raw.subarray(end + 4)
  if (headers['transfer-encoding']?.some((v) => /chunked/i.test(v)) === true) body = dechunk(body)
  return { status, headers, body: body.toString('utf8') }
}

function dechunk (data: Buffer): Buffer {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = data.indexOf('\r\n', at)
    if (eol === -1) break
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16)
    if (!(size > 0)) break
    out.push(data.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return Buffer.concat(out)
}

// What would betray a leak: user objects (`"avatar_urls"`; a comment's
// `"author_avatar_urls"` is public), site settings, user emails, a wp_rest
// nonce (admin-ajax `action=rest-nonce` answers a bare 10-hex-character
// body; the REST API sends one in X-WP-Nonce), and the admin bar WordPress
// draws on site pages for a logged-in user.
export const LEAKS: Array<[string, RegExp]> = [
  ['a user object', /"avatar_urls"/],
  ['site settings', /"posts_per_page"/],
  ['a user email', /@example\.test/],
  ['a REST nonce', /^\s*[0-9a-f]{10}\s*$/],
  ['the admin bar of a logged-in user', /id=['"]wp-admin-bar-my-account['"]/]
]

/** Everything in an answer that betrays data a refusal must not carry. */
export function leaks (res: RawResponse): string[] {
  const found = LEAKS.filter(([, re]) => re.test(res.body)).map(([what]) => what)
  if (res.headers['x-wp-nonce'] !== undefined) found.push('an X-WP-Nonce header')
  return found
}

/** A prefix of this test run's own: every name a write attempt uses starts with it. */
export const RUN_ID = randomBytes(4).toString('hex')

/** Replaces `@@NAME@@` placeholders in a string. */
export function fill (text: string, values: Record<string, string>): string {
  return text.replace(/@@([A-Z]+)@@/g, (all, name: string) => values[name] ?? all)
}

export function fillRequest<T extends RawRequest> (req: T, values: Record<string, string>): T {
  return {
    ...req,
    path: fill(req.path, values),
    headers: pairs(req.headers).map(([n, v]) => [n, fill(v, values)] as [string, string]),
    ...(typeof req.body === 'string' ? { body: fill(req.body, values) } : {})
  }
}

// Bodies.

export const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' }
export const JSON_TYPE = { 'Content-Type': 'application/json' }

/** A multipart body of plain form-data fields, CRLF throughout, boundary XyZ. */
export function multipart (fields: Array<[string, string]>, boundary = 'XyZ'): { headers: Record<string, string>, body: string } {
  return {
    headers: { 'Content-Type': `multipart/form-data; boundary=${boundary}` },
    body: fields.map(([name, value]) => `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`).join('') + `--${boundary}--\r\n`
  }
}

/** A chunked body: the bytes split into chunks of `size`. */
export function chunked (body: string, size = 7): string {
  let out = ''
  for (let i = 0; i < body.length; i += size) {
    const part = body.slice(i, i + size)
    out += `${Buffer.byteLength(part, 'latin1').toString(16)}\r\n${part}\r\n`
  }
  return out + '0\r\n\r\n'
}

/** The `name=value&…` of n filler parameters `a0=`…, for max_input_vars. */
export const filler = (n: number, from = 0): string => Array.from({ length: n }, (_, i) => `a${from + i}=`).join('&')

// Side effects: what write attempts would leave behind, read back by the administrator.

export type Trace = 'tag' | 'category' | 'comment' | 'description'

export interface Traces {
  /** Names of the tags and categories whose name holds the prefix. */
  tag: string[]
  category: string[]
  /** Raw content of every comment (any status) holding the prefix. */
  comment: string[]
  /** The descriptions of the tags the corpus made for itself. */
  description: string[]
}

export const TRACE_LABEL: Record<Trace, string> = {
  tag: 'a tag',
  category: 'a category',
  comment: 'a comment',
  description: 'a tag description'
}

/**
 * What holds `term` now, read by the administrator through `get` (a JSON
 * list from a REST path): tags, categories and comments (any status) by
 * search, and the descriptions of the tags the corpus made for itself.
 */
export async function readTraces (get: (path: string) => Promise<Array<Record<string, any>>>, term: string, tagIds: string[], kinds: Trace[] = ['tag', 'category', 'comment', 'description']): Promise<Traces> {
  const q = encodeURIComponent(term)
  const want = (k: Trace) => kinds.includes(k)
  return {
    tag: want('tag') ? (await get(`/wp/v2/tags?search=${q}&per_page=100`)).map((x) => String(x.name)) : [],
    category: want('category') ? (await get(`/wp/v2/categories?search=${q}&per_page=100`)).map((x) => String(x.name)) : [],
    comment: want('comment') ? (await get(`/wp/v2/comments?search=${q}&status=all&per_page=100&context=edit`)).map((x) => String(x.content.raw)) : [],
    description: want('description') ? (await get(`/wp/v2/tags?include=${tagIds.join(',')}&context=edit`)).map((x) => String(x.description)) : []
  }
}

/** Which of the traces hold this marker. */
export function tracesOf (traces: Traces, marker: string): Trace[] {
  return (Object.keys(traces) as Trace[]).filter((kind) => traces[kind].some((text) => text.includes(marker)))
}
