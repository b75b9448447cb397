import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { connect as netConnect, type AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/load.js'
import type { Config } from '../src/config/schema.js'
import { RedisStore, type RedisStoreOptions } from '../src/store/redis/index.js'
import { parseTopology } from '../src/store/redis/topology.js'
import type { Store } from '../src/store/index.js'
import type { Tracing } from '../src/tracing/index.js'

// Tests talk to real things: a WordPress with the bridge and a Redis made for
// this run alone (scripts/test.sh, which `npm test` runs), and real HTTP
// servers on port 0.

function fromRun (name: string): string {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set: run the tests with npm test (scripts/test.sh starts what they need)`)
  return value
}

export const WP_URL = fromRun('WP_TEST_URL')
/** The same site, served with the bridge's enforcement taken off: what the gateway must hold alone. */
export const WP_UNGUARDED_URL = fromRun('WP_TEST_UNGUARDED_URL')
/** The instance's folder; `${WP_DIR}/load.php` loads its WordPress from a PHP CLI script. */
export const WP_DIR = fromRun('WP_TEST_DIR')
/** Where the instance's bridge sends its events (tests that need them listen there). */
export const EVENTS_PORT = Number(fromRun('WP_TEST_EVENTS_PORT'))
export const REDIS_URL = fromRun('TEST_REDIS_URL')
export const BRIDGE_SECRET = process.env.BRIDGE_SECRET ?? 'test-bridge-secret-0123456789abcdef0123456789abcdef'
export const JWT_SECRET = 'test-jwt-secret-abcdefghijklmnopqrstuvwxyz012345'

/** The test WordPress's users (scripts/test-wordpress.sh): password `<login>-password-123`. */
export const USERS = {
  admin: { id: 1, role: 'administrator' },
  editor: { id: 2, role: 'editor' },
  author: { id: 3, role: 'author' },
  contributor: { id: 4, role: 'contributor' },
  subscriber: { id: 5, role: 'subscriber' }
} as const
export type Login = keyof typeof USERS
export const password = (login: Login): string => `${login}-password-123`

export function testEnv (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return {
    WORDPRESS_URL: WP_URL,
    BRIDGE_SECRET,
    JWT_SECRET,
    PORT: '0',
    HOST: '127.0.0.1',
    // One process per server: the tests of WORKERS ask for more.
    WORKERS: '1',
    ...overrides
  }
}

export function testConfig (file: unknown = {}, env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ env: testEnv(env), file })
}

/** A (not yet connected) store for a REDIS_URL-style address, as the gateway would make it. */
export function redisStore (url: string, opts: Omit<RedisStoreOptions, 'topology'> = {}): RedisStore {
  const problems: string[] = []
  const topology = parseTopology({ url }, problems)
  if (topology === undefined) throw new Error(problems.join('; '))
  return new RedisStore({ ...opts, topology })
}

/** A Redis store under a key prefix of its own, so tests never see each other's keys. */
export async function testRedisStore (): Promise<RedisStore> {
  const store = redisStore(REDIS_URL, { keyPrefix: `wpag-test:${randomBytes(6).toString('hex')}:` })
  await store.connect()
  return store
}

interface Teardown { teardown: (fn: () => unknown) => void }

export async function buildTestApp (t: Teardown, file: unknown = {}, opts: { env?: Record<string, string | undefined>, store?: Store, logs?: string[], tracing?: Tracing } = {}): Promise<FastifyInstance> {
  const store = opts.store ?? await testRedisStore()
  if (opts.store === undefined) t.teardown(async () => { await store.close() })
  const logs = opts.logs
  const logger = logs === undefined ? false : { level: 'info', stream: { write: (line: string) => { logs.push(line) } } }
  const app = await buildApp(testConfig(file, opts.env), { logger, store, tracing: opts.tracing })
  t.teardown(async () => { await app.close() })
  return app
}

export async function login (app: FastifyInstance, user: Login): Promise<string> {
  return (await session(app, user, password(user))).access_token
}

export interface TokenPair { access_token: string, refresh_token: string, user: { id: number, roles: string[] } }

/** Logs in through the token endpoint and returns the whole token response. */
export async function session (app: FastifyInstance, username: string, pass: string, headers: Record<string, string> = {}): Promise<TokenPair> {
  const res = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username, password: pass }, headers })
  if (res.statusCode !== 200) throw new Error(`login as ${username} failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

/**
 * A throwaway WordPress user, created (and deleted afterwards) by the
 * administrator through the gateway, for tests that change passwords, roles
 * or existence; the fixed test users stay as they are.
 */
export async function throwawayUser (t: Teardown, app: FastifyInstance, role = 'author'): Promise<{ id: number, login: string, password: string }> {
  const admin = await login(app, 'admin')
  const login_ = `tmp-${randomBytes(5).toString('hex')}`
  const pass = `pw-${randomBytes(9).toString('hex')}`
  const res = await app.inject({ method: 'POST', url: '/wp-json/wp/v2/users', headers: { authorization: `Bearer ${admin}` }, payload: { username: login_, email: `${login_}@example.test`, password: pass, roles: [role] } })
  if (res.statusCode !== 201) throw new Error(`creating a user failed: ${res.statusCode} ${res.body}`)
  const id = res.json().id as number
  t.teardown(async () => {
    // The user may be gone already (deletion tests); a fresh admin token may be needed.
    const fresh = await login(app, 'admin').catch(() => admin)
    await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${id}?force=true&reassign=1`, headers: { authorization: `Bearer ${fresh}` } }).catch(() => {})
  })
  return { id, login: login_, password: pass }
}

/** Deletes, when the test ends, the WordPress users it registers (made by provisioning, not by throwawayUser). */
export function usersToDelete (t: Teardown, app: FastifyInstance): (id: number) => number {
  const made = new Set<number>()
  t.teardown(async () => {
    const admin = await login(app, 'admin')
    for (const id of made) await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${id}?force=true&reassign=1`, headers: { authorization: `Bearer ${admin}` } })
  })
  return (id) => { made.add(id); return id }
}

export interface Recorded { method: string, url: string, headers: IncomingHttpHeaders, rawHeaders: string[], body: string }

/**
 * A real HTTP server standing in for WordPress where a test must see exactly
 * what the gateway sends upstream (or that it sends nothing at all).
 */
export async function startUpstream (t: Teardown, answer: { status?: number, delayMs?: number, headers?: Record<string, string> } = {}): Promise<{ url: string, requests: Recorded[] }> {
  const requests: Recorded[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() })
      setTimeout(() => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers })
        res.end(JSON.stringify({ upstream: true }))
      }, answer.delayMs ?? 0)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => {
    server.close(resolve)
    server.closeAllConnections()
  }))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

/**
 * A Redis server of the test's own on a free port, so a test can stop and
 * restart it (fail-closed and recovery tests) without touching the shared one.
 */
export async function startRedis (t: Teardown, opts: { persist?: boolean } = {}): Promise<{ url: string, port: number, stop: () => Promise<void>, start: () => Promise<void>, pause: () => void, resume: () => void }> {
  const { createServer: createNetServer } = await import('node:net')
  const port = await new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
  let child: ChildProcess | undefined
  // persist: every write on disk before it is acknowledged, so a restart keeps everything (as production Redis should).
  const dir = opts.persist === true ? mkdtempSync(join(tmpdir(), 'wpag-redis-')) : undefined
  if (dir !== undefined) t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const storage = dir === undefined ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir]
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...storage], { stdio: 'ignore' })
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = netConnect(port, '127.0.0.1', () => { s.end(); resolve(true) })
        s.on('error', () => resolve(false))
      })
      if (up) return
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    throw new Error('redis-server did not start')
  }
  const stop = async () => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child!.once('exit', resolve))
    child.kill('SIGKILL')
    await exited
  }
  await start()
  t.teardown(stop)
  // SIGSTOP: connections stay open but nothing answers, like a Redis that hangs.
  const pause = () => { child?.kill('SIGSTOP') }
  const resume = () => { child?.kill('SIGCONT') }
  return { url: `redis://127.0.0.1:${port}`, port, stop, start, pause, resume }
}

/** The real server process (src/server.ts), for tests of what only a process shows. */
export function startServer (env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c) => { stdout += c })
  child.stderr.on('data', (c) => { stderr += c })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const listening = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', () => {
      const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)
      if (m) resolve(Number(m[1]))
    })
    void exited.then(() => reject(new Error(`exited: ${stderr}`)))
  })
  listening.catch(() => {}) // only the tests that wait for it care
  return { child, exited, listening, output: () => ({ stdout, stderr }) }
}

/**
 * Runs PHP with the test WordPress loaded (`require WP_DIR/load.php`), e.g.
 * to read or change an option; resolves with what it prints. Asynchronous:
 * WordPress may send an event to a gateway listening in this very process.
 */
export async function wpPhp (code: string): Promise<string> {
  const { stdout } = await promisify(execFile)('php', ['-r', `require '${join(WP_DIR, 'load.php')}'; ${code}`])
  return stdout
}

/** Sets a WordPress option for one test, and puts the old value back when it ends. */
export async function withOption (t: Teardown, name: string, value: string | number): Promise<void> {
  const old = await wpPhp(`echo json_encode(get_option(${JSON.stringify(name)}, null));`)
  await wpPhp(`update_option(${JSON.stringify(name)}, ${JSON.stringify(value)});`)
  t.teardown(async () => {
    await wpPhp(`$old = json_decode(${JSON.stringify(old)}, true); if ($old === null) { delete_option(${JSON.stringify(name)}); } else { update_option(${JSON.stringify(name)}, $old); }`)
  })
}

export interface SentMail { to: string[], subject: string, message: string, time: number }

/**
 * Mail the test WordPress "sent" (recorded by test/fixtures/wordpress/mu-plugins/
 * wpag-test-mail.php instead of sent), to an address, oldest first.
 */
export function sentMail (to: string): SentMail[] {
  const dir = join(WP_DIR, 'content', 'test-mail')
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort()
  } catch {
    return []
  }
  return names.map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as SentMail)
    .filter((m) => m.to.some((a) => a.toLowerCase() === to.toLowerCase()))
}

/** Waits (up to timeoutMs) until `count` mails to the address have been recorded; returns them. */
export async function waitForMail (to: string, count = 1, timeoutMs = 5000): Promise<SentMail[]> {
  const until = Date.now() + timeoutMs
  for (;;) {
    const mails = sentMail(to)
    if (mails.length >= count || Date.now() > until) return mails
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * Redis's per-command call counts (INFO commandstats) without the audit
 * trail's writer: one script a batch, once a second whatever the traffic
 * (EVALSHA running XADD per entry, one XTRIM and one PEXPIRE), never a round
 * trip per request (test/e2e/audit.test.ts). Each batch runs exactly one
 * XTRIM, so that many EVALSHAs are the writer's; any other script call still counts.
 */
export async function redisCommandCountsWithoutAudit (redis: { info: (section: string) => Promise<string> }): Promise<Map<string, number>> {
  const counts = await redisCommandCounts(redis)
  const batches = counts.get('xtrim') ?? 0
  for (const name of ['xadd', 'xtrim', 'pexpire']) counts.delete(name)
  const scripts = (counts.get('evalsha') ?? 0) - batches
  if (scripts > 0) counts.set('evalsha', scripts)
  else counts.delete('evalsha')
  return counts
}

/** Redis's per-command call counts (INFO commandstats). */
export async function redisCommandCounts (redis: { info: (section: string) => Promise<string> }): Promise<Map<string, number>> {
  const counts = new Map<string, number>()
  for (const m of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) counts.set(m[1]!, Number(m[2]))
  return counts
}
