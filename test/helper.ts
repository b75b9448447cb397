import { createServer, type IncomingHttpHeaders } from 'node:http'
import { connect as netConnect, type AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../src/app.js'
import { loadConfig } from '../src/config/load.js'
import type { Config } from '../src/config/schema.js'
import { RedisStore } from '../src/store/redis.js'
import type { Store } from '../src/store/index.js'

// Tests talk to real things: the test WordPress with the bridge
// (scripts/test-wordpress.sh, started by `npm test`), a real Redis, and real
// HTTP servers on port 0.

export const WP_URL = `http://127.0.0.1:${process.env.WP_TEST_PORT ?? '8890'}`
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
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
    ...overrides
  }
}

export function testConfig (file: unknown = {}, env: Record<string, string | undefined> = {}): Config {
  return loadConfig({ env: testEnv(env), file })
}

/** A Redis store under a key prefix of its own, so tests never see each other's keys. */
export async function testRedisStore (): Promise<RedisStore> {
  const store = new RedisStore({ url: REDIS_URL, keyPrefix: `wpag-test:${randomBytes(6).toString('hex')}:` })
  await store.connect()
  return store
}

interface Teardown { teardown: (fn: () => unknown) => void }

export async function buildTestApp (t: Teardown, file: unknown = {}, opts: { env?: Record<string, string | undefined>, store?: Store } = {}): Promise<FastifyInstance> {
  const store = opts.store ?? await testRedisStore()
  const app = await buildApp(testConfig(file, opts.env), { logger: false, store })
  t.teardown(async () => {
    await app.close()
    if (opts.store === undefined) await store.close()
  })
  return app
}

export async function login (app: FastifyInstance, user: Login): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token', payload: { username: user, password: password(user) } })
  if (res.statusCode !== 200) throw new Error(`login as ${user} failed: ${res.statusCode} ${res.body}`)
  return res.json().access_token
}

export interface Recorded { method: string, url: string, headers: IncomingHttpHeaders, rawHeaders: string[], body: string }

/**
 * A real HTTP server standing in for WordPress where a test must see exactly
 * what the gateway sends upstream (or that it sends nothing at all).
 */
export async function startUpstream (t: Teardown, answer: { status?: number, delayMs?: number } = {}): Promise<{ url: string, requests: Recorded[] }> {
  const requests: Recorded[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() })
      setTimeout(() => {
        res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' })
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
export async function startRedis (t: Teardown): Promise<{ url: string, stop: () => Promise<void>, start: () => Promise<void> }> {
  const { spawn } = await import('node:child_process')
  const { createServer: createNetServer } = await import('node:net')
  const port = await new Promise<number>((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port
      probe.close(() => resolve(p))
    })
  })
  let child: import('node:child_process').ChildProcess | undefined
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
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
  return { url: `redis://127.0.0.1:${port}`, stop, start }
}
