import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync, symlinkSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createServer } from 'node:net'
import autocannon from 'autocannon'
import { loadConfig } from '../src/config/load.js'
import { loadKeyring } from '../src/tokens/keys.js'
import { AccessTokens } from '../src/tokens/access-token.js'

// What each change bought: the gateway as built from several commits, side by
// side in one run, each its own process pinned to core 1 (the load generator,
// the stub and Redis on core 0), with the bare @fastify/http-proxy passthrough
// measured between them. Rows alternate, R rounds, and the median CPU time
// per request of each is kept: ratios between builds measured minutes apart
// on a shared machine would say more about the machine.
//
//   npx tsx bench/compare.ts 2cb73a1 HEAD          (any git refs; R=3 SECONDS=6 by default)
//   ROWS=valid,none,badsig npx tsx bench/compare.ts A B

const refs = process.argv.slice(2)
if (refs.length === 0) throw new Error('usage: npx tsx bench/compare.ts <git ref> [<git ref> ...]')
const ROUNDS = Number(process.env.R ?? 3)
const SECONDS = Number(process.env.SECONDS ?? 6)
const ROWS = (process.env.ROWS ?? 'valid,none').split(',')
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmnopqrstu'
const BRIDGE_SECRET = 'test-bridge-secret-0123456789abcdef0123456789abcdef'
const root = resolve(import.meta.dirname, '..')
const children: ChildProcess[] = []
const dirs: string[] = []
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)) })
})

function start (cmd: string, args: string[], env: Record<string, string>, core: string, cwd = root, ready = /listening/i): Promise<ChildProcess> {
  const child = spawn('taskset', ['-c', core, cmd, ...args], { cwd, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  return new Promise((resolve, reject) => {
    const seen = (c: Buffer) => { if (out.length < 65536) out += c.toString(); if (ready.test(out)) resolve(child) }
    child.stdout!.on('data', seen)
    child.stderr!.on('data', seen)
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}): ${out}`)))
  })
}

/** The ref's tree, built, in a temp dir beside this checkout's node_modules. */
function build (ref: string): string {
  const sha = execFileSync('git', ['rev-parse', '--short', ref], { cwd: root }).toString().trim()
  const dir = mkdtempSync(join(tmpdir(), `wpag-compare-${sha}-`))
  dirs.push(dir)
  execFileSync('sh', ['-c', `git archive ${sha} | tar -x -C ${dir}`], { cwd: root })
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'))
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: dir, stdio: 'inherit' })
  return dir
}

const cpuMs = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' '); return (Number(f[11]) + Number(f[12])) * 10 }
async function measure (url: string, headers: Record<string, string>, pid: number): Promise<number> {
  await autocannon({ url, headers, connections: 32, duration: 1 })
  const before = cpuMs(pid)
  const r = await autocannon({ url, headers, connections: 32, duration: SECONDS })
  return (cpuMs(pid) - before) * 1000 / r.requests.total
}

const redisPort = await freePort()
await start('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {}, '0', root, /Ready to accept/i)
const REDIS_URL = `redis://127.0.0.1:${redisPort}`
const stubPort = await freePort()
await start(process.execPath, ['--import', 'tsx', 'bench/stub.ts'], { PORT: String(stubPort) }, '0')
const upstream = `http://127.0.0.1:${stubPort}`
const passPort = await freePort()
const passthrough = await start(process.execPath, ['--import', 'tsx', 'bench/passthrough.ts'], { PORT: String(passPort), UPSTREAM: upstream }, '1')
const config = mkdtempSync(join(tmpdir(), 'wpag-compare-config-'))
dirs.push(config)
writeFileSync(join(config, 'gateway.yaml'), 'server:\n  logLevel: info\npolicy:\n  default: authenticated\n')
const gateways: Array<{ ref: string, port: number, child: ChildProcess }> = []
for (const ref of refs) {
  const dir = build(ref)
  const port = await freePort()
  const env = { WORDPRESS_URL: upstream, REDIS_URL, BRIDGE_SECRET, JWT_SECRET, HOST: '127.0.0.1', PORT: String(port), NODE_ENV: 'production', WORKERS: '1', GATEWAY_CONFIG: join(config, 'gateway.yaml') }
  gateways.push({ ref, port, child: await start(process.execPath, ['dist/server.js'], env, '1', dir) })
}

const tokens = new AccessTokens(await loadKeyring(loadConfig({ env: { WORDPRESS_URL: upstream, BRIDGE_SECRET, JWT_SECRET }, file: {} })), { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 })
const token = (await tokens.issue({ id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }, 'compare')).token
const headersFor: Record<string, Record<string, string>> = {
  valid: { authorization: `Bearer ${token}` },
  none: {},
  badsig: { authorization: `Bearer ${token.slice(0, -4)}AAAA` }
}
const path = '/wp-json/wp/v2/posts/1'

const results = new Map<string, number[]>()
const note = (key: string, us: number) => { results.set(key, [...(results.get(key) ?? []), us]) }
for (let round = 0; round < ROUNDS; round++) {
  note('passthrough', await measure(`http://127.0.0.1:${passPort}${path}`, {}, passthrough.pid!))
  for (const row of ROWS) for (const g of gateways) note(`${row} ${g.ref}`, await measure(`http://127.0.0.1:${g.port}${path}`, headersFor[row]!, g.child.pid!))
  process.stdout.write(`round ${round + 1} of ${ROUNDS} done\n`)
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const base = median(results.get('passthrough')!)
process.stdout.write(`\n| row | CPU µs/req (median of ${ROUNDS}) | runs | × passthrough |\n| --- | ---: | --- | ---: |\n`)
for (const [key, xs] of results) process.stdout.write(`| ${key} | ${median(xs).toFixed(1)} | ${xs.map((x) => x.toFixed(0)).join(', ')} | ${(median(xs) / base).toFixed(2)} |\n`)
process.exit(0)
