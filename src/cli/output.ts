import type { Parsed } from './command.js'

// What an online command prints: the gateway's JSON answer as it came (for
// scripts and jq), or with --table a short table for a person.

export function print (args: Parsed, data: unknown): void {
  if (args.values.table === true) process.stdout.write(table(data))
  else process.stdout.write(JSON.stringify(data, null, 2) + '\n')
}

/** Rows: the answer's list (`{"api_keys": [...]}`), or the answer itself as one row. */
export function table (data: unknown): string {
  const list = data !== null && typeof data === 'object' && !Array.isArray(data)
    ? Object.values(data).find(Array.isArray) ?? [data]
    : Array.isArray(data) ? data : [{ result: data }]
  const rows = list as Array<Record<string, unknown>>
  if (rows.length === 0) return '(none)\n'
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))]
  const cell = (v: unknown) => v === null || v === undefined ? '-' : Array.isArray(v) ? v.join(',') || '-' : typeof v === 'object' ? JSON.stringify(v) : String(v)
  const cells = [columns, ...rows.map((r) => columns.map((c) => cell(r[c])))]
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)))
  return cells.map((r) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n'
}
