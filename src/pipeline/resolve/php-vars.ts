import { TooManyParameters } from '../../errors.js'

// PHP's reading of query strings and urlencoded bodies, for the few
// parameters that decide where WordPress sends a request. Written by hand:
// no npm parser reads names as PHP does (main/php_variables.c,
// php_register_variable_ex; ext/standard/url.c, php_url_decode), and reading
// them exactly so is what keeps `rest.route=`, `rest route=` or `rest[route=`
// from slipping past the gateway as unknown names while PHP hands them to
// WordPress as `rest_route`.

export interface PhpParam {
  /** Decoded value of the last occurrence (PHP: the last duplicate wins). */
  value: string
  /** True when any occurrence used array syntax (`name[]=`, `name[x]=`). */
  array: boolean
}

/** PHP's urldecode: `+` is a space, `%XX` a byte, malformed escapes stay as they are. */
export function phpUrlDecode (s: string): string {
  if (!s.includes('%') && !s.includes('+')) return s
  const bytes: number[] = []
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x2b) bytes.push(0x20)
    else if (c === 0x25 && i + 2 < s.length && isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16))
      i += 2
    } else if (c < 0x80) bytes.push(c)
    else for (const b of Buffer.from(s[i]!, 'utf8')) bytes.push(b)
  }
  return Buffer.from(bytes).toString('latin1')
}

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/**
 * The variable PHP registers for a decoded name (php_register_variable_ex,
 * PHP 8.2), or null when PHP drops it: the name ends at a NUL; leading
 * spaces go; in the base name ` ` and `.` become `_`; the first `[` opens an
 * array when a `]` follows, otherwise it becomes `_` and every later ` `,
 * `.` and `[` does too; an empty base name is dropped.
 */
export function phpVariableName (decoded: string): { name: string, array: boolean } | null {
  const nul = decoded.indexOf('\0')
  const raw = (nul === -1 ? decoded : decoded.slice(0, nul)).replace(/^ +/, '')
  const bracket = raw.indexOf('[')
  const base = (bracket === -1 ? raw : raw.slice(0, bracket)).replace(/[ .]/g, '_')
  if (base === '') return null
  if (bracket === -1) return { name: base, array: false }
  if (raw.indexOf(']', bracket + 1) !== -1) return { name: base, array: true }
  return { name: base + '_' + raw.slice(bracket + 1).replace(/[ .[]/g, '_'), array: false }
}

export interface ReadLimits {
  /** PHP's max_input_vars. */
  maxVars: number
}

/**
 * The named parameters of a query string as PHP's $_GET holds them. PHP
 * skips empty items without counting them and stops reading at item
 * max_input_vars + 1 (php_default_treat_data), so a request with more items
 * than that is refused: PHP would not see what the gateway judged.
 */
export function readQuery (rawQuery: string, wanted: ReadonlySet<string>, limits: ReadLimits): Map<string, PhpParam> {
  return read(rawQuery.split('&').filter((p) => p !== ''), wanted, limits, 'query string')
}

/**
 * The named parameters of an urlencoded body as PHP's $_POST holds them.
 * Here empty items count too (add_post_vars), and only `&` separates.
 */
export function readUrlencoded (body: string, wanted: ReadonlySet<string>, limits: ReadLimits): Map<string, PhpParam> {
  return read(body.split('&'), wanted, limits, 'form body')
}

function read (pairs: string[], wanted: ReadonlySet<string>, { maxVars }: ReadLimits, where: string): Map<string, PhpParam> {
  if (pairs.length > maxVars) throw new TooManyParameters(where, maxVars)
  const found = new Map<string, PhpParam>()
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    const v = phpVariableName(phpUrlDecode(eq === -1 ? pair : pair.slice(0, eq)))
    if (v === null || !wanted.has(v.name)) continue
    remember(found, v, eq === -1 ? '' : utf8(phpUrlDecode(pair.slice(eq + 1))))
  }
  return found
}

/** Records one occurrence: the last value wins, and one array occurrence makes the whole an array. */
export function remember (found: Map<string, PhpParam>, v: { name: string, array: boolean }, value: string): void {
  const prev = found.get(v.name)
  found.set(v.name, { value, array: v.array || (prev?.array ?? false) })
}

/** Bytes (held as latin1) read as UTF-8, the way WordPress compares routes. */
export const utf8 = (latin1: string): string => Buffer.from(latin1, 'latin1').toString('utf8')
