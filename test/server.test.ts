import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer as start, startUpstream, testEnv } from './helper.js'

// The real server process: start-up errors an operator can act on, and a
// graceful stop that lets in-flight requests finish.

const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('wp-auth-gateway:'))

t.test('a bad configuration stops the start with readable lines', async (t) => {
  const p = start({ ...testEnv(), JWT_SECRET: 'short', BRIDGE_SECRET: undefined })
  t.equal(await p.exited, 1)
  const { stderr } = p.output()
  t.match(errorLines(stderr), [/^wp-auth-gateway: invalid configuration:/])
  t.match(stderr, /BRIDGE_SECRET: not set/)
  t.match(stderr, /JWT_SECRET: only 5 bytes/)
  t.notMatch(stderr, /at .*\.ts:\d+/, 'no stack trace')
})

t.test('an unreachable Redis is one line saying what to fix', async (t) => {
  const p = start({ ...testEnv(), REDIS_URL: 'redis://127.0.0.1:1' })
  t.equal(await p.exited, 1)
  t.same(errorLines(p.output().stderr), ['wp-auth-gateway: cannot reach Redis at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1); start Redis or fix REDIS_URL'])
})

t.test('SIGTERM lets in-flight requests finish, then exits cleanly', async (t) => {
  const upstream = await startUpstream(t, { delayMs: 1500 })
  const dir = mkdtempSync(join(tmpdir(), 'wpag-server-'))
  writeFileSync(join(dir, 'gateway.yaml'), 'policy:\n  default: public\n')
  const p = start({ ...testEnv({ WORDPRESS_URL: upstream.url }), GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
  t.teardown(() => { p.child.kill('SIGKILL') })
  const port = await p.listening
  t.match(p.output().stdout, /WordPress at .* is not usable yet/, 'a WordPress without the bridge is reported at start')

  const inFlight = fetch(`http://127.0.0.1:${port}/wp-json/wp/v2/posts`)
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(upstream.requests.filter((r) => r.url === '/wp-json/wp/v2/posts').length, 1, 'the request is at WordPress')
  p.child.kill('SIGTERM')
  const res = await inFlight
  t.equal(res.status, 200, 'the in-flight request completes')
  t.same(await res.json(), { upstream: true })
  t.equal(await p.exited, 0, 'clean exit')
  await t.rejects(fetch(`http://127.0.0.1:${port}/_gateway/healthz`), 'no longer listening')
})

t.test('--help prints the usage and starts nothing', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts', '--help'], { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  child.stdout.on('data', (c) => { stdout += c })
  const code = await new Promise((resolve) => child.on('exit', resolve))
  t.equal(code, 0, 'exits at once, although nothing is configured')
  t.match(stdout, /^Usage: node dist\/server\.js/)
  t.match(stdout, /WORDPRESS_URL/)
  t.match(stdout, /GATEWAY_CONFIG/)
})
