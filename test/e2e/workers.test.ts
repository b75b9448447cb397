import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { hash } from '@node-rs/argon2'
import t from 'tap'
import { password, startRedis, startServer, testEnv } from '../helper.js'

// WORKERS (README, "Every core"): the real server process as a cluster of
// workers on one port, in front of the test WordPress and a Redis of its own.

const ADMIN_TOKEN = 'wpag_admin_' + randomBytes(32).toString('base64url')

const children = (pid: number): number[] => {
  try {
    // The workers, not the esbuild service tsx starts beside each process.
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'server.ts'], { encoding: 'utf8' }).split('\n').filter((l) => l !== '').map(Number)
  } catch {
    return [] // pgrep exits 1 when there are none
  }
}

async function until (what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!await check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

t.test('two workers serve one port, share Redis, each keeps a revocation view; the primary restarts a dead worker and stops them all', async (t) => {
  const redis = await startRedis(t)
  const dir = mkdtempSync(join(tmpdir(), 'wpag-workers-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'gateway.yaml'), `admin:\n  apiTokenHash: "${await hash(ADMIN_TOKEN)}"\n`)
  const p = startServer({ ...testEnv(), REDIS_URL: redis.url, WORKERS: '2', GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
  t.teardown(() => { for (const pid of children(p.child.pid!)) process.kill(pid, 'SIGKILL'); p.child.kill('SIGKILL') })
  const port = await p.listening
  const base = `http://127.0.0.1:${port}`
  await until('both workers listening', () => /"workers":2/.test(p.output().stdout))
  t.equal(children(p.child.pid!).length, 2, 'two worker processes')

  // A new connection each time: the primary hands connections to the workers in turn.
  const call = (path: string, init: RequestInit = {}) => fetch(base + path, { ...init, headers: { connection: 'close', ...init.headers } })
  const login = await call('/wp-json/api/v1/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'editor', password: password('editor') }) })
  t.equal(login.status, 200)
  const { access_token: token } = await login.json() as { access_token: string }
  const me = () => call('/wp-json/wp/v2/users/me', { headers: { authorization: `Bearer ${token}` } })
  const statuses = await Promise.all(Array.from({ length: 10 }, me)).then((r) => r.map((x) => x.status))
  t.same(statuses, Array(10).fill(200), 'the token works on every worker')

  const revoked = await call('/wp-json/api/v1/token/revoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })
  t.equal(revoked.status, 200)
  const after = await Promise.all(Array.from({ length: 10 }, me)).then((r) => r.map((x) => x.status))
  t.same(after, Array(10).fill(401), 'revoked on one worker, refused by all at once (each worker\'s view is fed by Redis)')

  const scrape = async () => {
    const res = await call('/_gateway/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    t.equal(res.status, 200)
    const text = await res.text()
    return [...text.matchAll(/^wpag_requests_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0)
  }
  const counted = await scrape()
  t.ok(counted >= 22, `a scrape counts the requests of both workers (${counted}; this test made 22, one worker saw about half)`)

  const [victim] = children(p.child.pid!)
  process.kill(victim!, 'SIGKILL')
  await until('a new worker', () => { const now = children(p.child.pid!); return now.length === 2 && !now.includes(victim!) })
  t.pass('a worker that died is replaced')
  await until('the new worker listening', () => p.output().stdout.includes('starting another') || p.output().stderr.includes('starting another'))
  const again = await Promise.all(Array.from({ length: 6 }, () => call('/_gateway/healthz'))).then((r) => r.map((x) => x.status))
  t.same(again, Array(6).fill(200), 'and the port keeps answering')

  const workers = children(p.child.pid!)
  p.child.kill('SIGTERM')
  t.equal(await p.exited, 0, 'SIGTERM: the primary stops the workers and exits cleanly')
  t.same(workers.filter((pid) => { try { process.kill(pid, 0); return true } catch { return false } }), [], 'no worker is left')
})

t.test('WORKERS above 1 without Redis is a configuration error; a bad value too', async (t) => {
  const noRedis = startServer({ ...testEnv(), REDIS_URL: undefined, WORKERS: '2' })
  t.equal(await noRedis.exited, 1)
  t.match(noRedis.output().stderr, /WORKERS: 2 processes need a shared store; set REDIS_URL \(or REDIS_CLUSTER_NODES\), or WORKERS=1/)
  const bad = startServer({ ...testEnv(), WORKERS: 'many' })
  t.equal(await bad.exited, 1)
  t.match(bad.output().stderr, /WORKERS: "many" is not a number of processes \(1-256\)/)
})

t.test('with several workers, a start-up failure is reported once and ends the start', async (t) => {
  const p = startServer({ ...testEnv(), REDIS_URL: 'redis://127.0.0.1:1', WORKERS: '2' })
  t.equal(await p.exited, 1)
  t.same(p.output().stderr.split('\n').filter((l) => l.startsWith('wp-auth-gateway:')), ['wp-auth-gateway: cannot reach Redis at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); start Redis or fix REDIS_URL'])
})
