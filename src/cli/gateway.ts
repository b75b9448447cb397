import { CliError, type Parsed } from './command.js'

// The running gateway's admin API (README, "Admin routes"), as the online
// commands call it: --url/WPAG_URL, --token/WPAG_ADMIN_TOKEN, and every
// failure turned into one line that says what to fix.

export const DEFAULT_URL = 'http://127.0.0.1:8080'
const TIMEOUT_MS = 15_000

export interface Gateway {
  call: (method: 'GET' | 'POST' | 'DELETE', path: string, body?: object) => Promise<unknown>
}

export function gateway (args: Parsed, env: NodeJS.ProcessEnv = process.env): Gateway {
  const given = (args.values.url as string | undefined) ?? (env.WPAG_URL === '' ? undefined : env.WPAG_URL) ?? DEFAULT_URL
  let base: URL
  try {
    base = new URL(given)
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('protocol')
  } catch {
    throw new CliError(`--url: '${given}' is not an http(s) URL`, 2)
  }
  const token = (args.values.token as string | undefined) ?? env.WPAG_ADMIN_TOKEN
  if (token === undefined || token === '') {
    throw new CliError('no token: pass --token or set WPAG_ADMIN_TOKEN to the admin API token or an administrator\'s access token', 2)
  }
  const origin = base.href.replace(/\/+$/, '')

  return {
    async call (method, path, body) {
      let res: Response
      try {
        res = await fetch(origin + path, {
          method,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(TIMEOUT_MS)
        })
      } catch (err) {
        const e = err as Error & { cause?: Error & { code?: string } }
        const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : e.cause?.message ?? e.message
        throw new CliError(`cannot reach the gateway at ${origin} (${why}); is it running? set --url or WPAG_URL`)
      }
      const text = await res.text()
      const json = parseJson(text)
      if (res.ok) return res.status === 204 ? null : json
      throw new CliError(refusal(res.status, json, text, `${method} ${path}`))
    }
  }
}

function parseJson (text: string): unknown {
  if (text === '') return null
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The gateway's REST error shape (DESIGN §7) as one line, with the fix where there is one. */
function refusal (status: number, json: unknown, text: string, what: string): string {
  const err = json as { code?: unknown, message?: unknown } | undefined
  const detail = typeof err?.code === 'string'
    ? `${status} ${err.code}${typeof err.message === 'string' ? `: ${err.message}` : ''}`
    : `${status} ${text.slice(0, 120).replace(/\s+/g, ' ').trim()}`.trim()
  if (status === 401) return `the gateway refused the token (${detail}); pass the admin API token or an administrator's access token with --token or WPAG_ADMIN_TOKEN`
  if (status === 403) return `the token is not allowed to use the admin API (${detail}); it must be the admin API token or an administrator's`
  if (status === 404 && typeof err?.code !== 'string') return `${what}: ${detail}; is the URL a wp-auth-gateway?`
  return `${what}: ${detail}`
}
