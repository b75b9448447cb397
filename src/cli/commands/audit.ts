import { CliError, UsageError, positiveInteger, type Command, type Parsed } from '../command.js'
import { gateway, type Gateway } from '../gateway.js'

// `audit tail`: the audit trail (README, "Audit trail") through the admin
// API, oldest first, one JSON object per line (for jq) or a short line each
// with --table; --follow polls for what is newer than the last line shown.

interface Entry { id: string, time: string, kind: string, [field: string]: unknown }
interface Page { entries: Entry[], next_cursor: string | null }

const FILTERS = ['user', 'route', 'result', 'via', 'kind', 'method'] as const
/** The admin API's largest page. */
const PAGE = 500
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `10m`, `2h`, `1d` before now, or a time the API takes (ISO 8601, ms since the epoch). */
function since (value: string, command: string): string {
  const m = /^(\d{1,6})([smhd])$/.exec(value)
  if (m !== null) return String(Date.now() - Number(m[1]) * UNITS[m[2]!]!)
  if (/^\d{1,15}$/.test(value) || !Number.isNaN(Date.parse(value))) return value
  throw new UsageError(`--since: '${value}' is neither a duration (30s, 10m, 2h, 1d) nor a time`, command)
}

function line (e: Entry, asTable: boolean): string {
  if (!asTable) return JSON.stringify(e)
  const who = e.user === undefined ? (e.actor as string | undefined) ?? '-' : `user:${String(e.user)}`
  const what = e.kind === 'request' ? `${String(e.http_method)} ${String(e.route)}` : String(e.action)
  const outcome = e.kind === 'request' ? `${String(e.result)} ${String(e.status)}${e.code === undefined ? '' : ' ' + String(e.code)}` : String(e.target ?? '')
  return [e.time, e.kind.padEnd(7), what, `via ${String(e.via ?? (e.kind === 'request' ? 'anonymous' : '-'))}`, who, outcome].join('  ')
}

/** Every entry newer than `after`, oldest first: pages back from the newest until `after`. */
async function newer (api: Gateway, query: URLSearchParams, after: string): Promise<Entry[]> {
  const got: Entry[] = []
  let cursor: string | null = null
  do {
    const q: URLSearchParams = new URLSearchParams(query)
    q.set('after', after)
    q.set('limit', String(PAGE))
    if (cursor !== null) q.set('cursor', cursor)
    const page = await api.call('GET', `/_gateway/admin/audit?${q.toString()}`) as Page
    got.push(...page.entries)
    cursor = page.next_cursor
  } while (cursor !== null)
  return got.reverse()
}

export const auditTail: Command = {
  name: 'audit tail',
  summary: 'show the newest entries of the audit trail, and follow it with -f',
  usage: '[--follow] [--lines N] [--since TIME] [filters] [options]',
  description: `
Prints the newest entries of the gateway's audit trail (GET
/_gateway/admin/audit): every decision (who, by which method, route, result,
status, refusal code, latency, address), every admin action and every
WordPress event. Oldest first, one JSON object per line; --table prints a
short line each. With --follow it keeps printing new entries as they come
(about a second after each request) until interrupted.`,
  online: true,
  options: {
    follow: { type: 'boolean', description: 'keep printing new entries (Ctrl-C stops)' },
    lines: { type: 'string', value: 'N', description: 'how many of the newest entries to print first (default 20; 0: none)' },
    since: { type: 'string', value: 'TIME', description: 'only entries since TIME: a duration back from now (30s, 10m, 2h, 1d), ISO 8601 or ms' },
    interval: { type: 'string', value: 'SECONDS', description: 'with --follow, how often to ask (default 1)' },
    user: { type: 'string', value: 'ID', description: 'only this WordPress user\'s entries' },
    route: { type: 'string', value: 'PREFIX', description: 'only routes starting with PREFIX (e.g. /wp/v2/users)' },
    result: { type: 'string', value: 'RESULT', description: 'allowed, refused or error' },
    via: { type: 'string', value: 'METHOD', description: 'how the caller proved itself (jwt, apikey, basic, oauth, external, …, anonymous)' },
    kind: { type: 'string', value: 'KIND', description: 'request, admin or event' },
    method: { type: 'string', value: 'HTTP_METHOD', description: 'only this HTTP method' }
  },
  async run (args: Parsed) {
    const api = gateway(args)
    const count = args.values.lines === undefined ? 20 : /^0$/.test(args.values.lines as string) ? 0 : positiveInteger(this.name, '--lines', args.values.lines as string)
    if (count > PAGE) throw new UsageError(`--lines: at most ${PAGE}`, this.name)
    const interval = args.values.interval === undefined ? 1 : positiveInteger(this.name, '--interval', args.values.interval as string)
    const query = new URLSearchParams()
    for (const f of FILTERS) if (typeof args.values[f] === 'string') query.set(f, args.values[f] as string)
    if (typeof args.values.since === 'string') query.set('from', since(args.values.since, this.name))
    const asTable = args.values.table === true

    const first = await api.call('GET', `/_gateway/admin/audit?${new URLSearchParams([...query, ['limit', String(Math.max(count, 1))]]).toString()}`) as Page
    const shown = first.entries.slice(0, count).reverse()
    for (const e of shown) process.stdout.write(line(e, asTable) + '\n')
    if (args.values.follow !== true) return
    // Entries after the newest one there is, whether it was printed or not.
    let last = first.entries[0]?.id ?? `${Date.now()}-0`
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, interval * 1000))
      let fresh: Entry[]
      try {
        fresh = await newer(api, query, last)
      } catch (err) {
        // A gateway restarting or briefly unreachable: say so once a try, and keep following.
        if (err instanceof CliError && err.message.startsWith('cannot reach')) process.stderr.write(`wp-auth-gateway: ${err.message}; retrying\n`)
        else throw err
        continue
      }
      for (const e of fresh) process.stdout.write(line(e, asTable) + '\n')
      if (fresh.length > 0) last = fresh[fresh.length - 1]!.id
    }
  }
}
