import { parseArgs } from 'node:util'

// The shape every CLI command shares: its options (node:util parseArgs), its
// help text made from them, and the two kinds of failure it may end with.

export const PROGRAM = 'wp-auth-gateway'

/** A failure the user can act on: printed as one line, exit code `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = 1) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}

/** A wrong command line (exit code 2, as getopt-style tools use). */
export class UsageError extends CliError {
  constructor (message: string, command: string) {
    super(`${message} (see ${PROGRAM} ${command} --help)`, 2)
  }
}

export interface Option {
  type: 'string' | 'boolean'
  multiple?: boolean
  /** The value's name in the help (`--user ID`). */
  value?: string
  description: string
}

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

export interface Command {
  /** `api-keys create` */
  name: string
  /** One line, in the program's list of commands. */
  summary: string
  /** What follows the name in the usage line, e.g. `--user ID --name NAME [options]`. */
  usage: string
  /** Paragraphs below the usage line. */
  description: string
  options?: Record<string, Option>
  /** Positional arguments taken: [at least, at most]. */
  positionals?: [number, number]
  /** Talks to a running gateway: gets --url, --token and --table. */
  online?: boolean
  run: (args: Parsed) => Promise<void>
}

export const ONLINE_OPTIONS: Record<string, Option> = {
  url: { type: 'string', value: 'URL', description: 'the gateway (default: $WPAG_URL, else http://127.0.0.1:8080)' },
  token: { type: 'string', value: 'TOKEN', description: 'the admin API token or an administrator\'s access token (default: $WPAG_ADMIN_TOKEN)' },
  table: { type: 'boolean', description: 'a short table instead of JSON' }
}
const HELP: Record<string, Option> = { help: { type: 'boolean', description: 'show this help' } }

export const allOptions = (c: Command): Record<string, Option> => ({ ...c.options, ...(c.online === true ? ONLINE_OPTIONS : {}), ...HELP })

export function parse (c: Command, argv: string[]): Parsed & { help: boolean } {
  const options = Object.fromEntries(Object.entries(allOptions(c)).map(([k, o]) => [k, { type: o.type, multiple: o.multiple ?? false }]))
  let parsed
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true })
  } catch (err) {
    // parseArgs explains at length; the first sentence is what matters.
    throw new UsageError((err as Error).message.split('. ')[0]!.replace(/\.$/, ''), c.name)
  }
  const values = parsed.values as Parsed['values']
  if (values.help === true) return { values, positionals: parsed.positionals, help: true }
  const [min, max] = c.positionals ?? [0, 0]
  if (parsed.positionals.length < min) throw new UsageError(`missing argument: ${c.usage}`, c.name)
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, c.name)
  return { values, positionals: parsed.positionals, help: false }
}

export function help (c: Command): string {
  const opts = Object.entries(allOptions(c)).map(([k, o]) => [`--${k}${o.value === undefined ? '' : ` ${o.value}`}`, o.description + (o.multiple === true ? ' (repeatable)' : '')])
  const width = Math.max(...opts.map(([flag]) => flag!.length))
  return `Usage: ${PROGRAM} ${c.name} ${c.usage}\n\n${c.description.trim()}\n\nOptions:\n${opts.map(([flag, d]) => `  ${flag!.padEnd(width)}  ${d}`).join('\n')}\n`
}

/** A required string option, or a usage error naming it. */
export function required (c: string, args: Parsed, name: string): string {
  const v = args.values[name]
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`, c)
  return v
}

/** A positive integer (a WordPress user id, seconds), or a usage error. */
export function positiveInteger (c: string, label: string, value: string): number {
  if (!/^[1-9][0-9]{0,15}$/.test(value)) throw new UsageError(`${label} must be a positive whole number (got '${value}')`, c)
  return Number(value)
}
