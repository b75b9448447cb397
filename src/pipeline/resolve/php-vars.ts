// PHP's reading of a query string (main/php_variables.c,
// php_register_variable_ex; ext/standard/url.c, php_url_decode), for the few
// parameters that decide where WordPress sends a request. Reading them as PHP
// does is what keeps `rest.route=`, `rest route=` or `rest[route=` from
// slipping past the gateway as unknown names while PHP hands them to
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
  return Buffer.from(bytes).toString('utf8')
}

function isHex (c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66)
}

/**
 * The variable name PHP registers: leading spaces dropped; ` ` and `.`
 * become `_`; a `[` opens an array when a `]` follows, otherwise it becomes
 * `_` and mangling stops there (PHP leaves later characters alone).
 */
export function phpVariableName (raw: string): { name: string, array: boolean } {
  const name = raw.replace(/^ +/, '')
  let out = ''
  for (let i = 0; i < name.length; i++) {
    const ch = name[i]
    if (ch === '[') {
      if (name.indexOf(']', i + 1) !== -1) return { name: out, array: true }
      return { name: out + '_' + name.slice(i + 1), array: false }
    }
    out += ch === ' ' || ch === '.' ? '_' : ch
  }
  return { name: out, array: false }
}

/** The named parameters of a raw query string, as PHP's $_GET would hold them. */
export function readPhpParams (rawQuery: string, wanted: ReadonlySet<string>): Map<string, PhpParam> {
  const found = new Map<string, PhpParam>()
  if (rawQuery === '') return found
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const rawName = phpUrlDecode(eq === -1 ? pair : pair.slice(0, eq))
    // PHP cuts a name at its first NUL byte.
    const { name, array } = phpVariableName(rawName.split('\0')[0]!)
    if (!wanted.has(name)) continue
    const value = eq === -1 ? '' : phpUrlDecode(pair.slice(eq + 1))
    const prev = found.get(name)
    found.set(name, { value, array: array || (prev?.array ?? false) })
  }
  return found
}
