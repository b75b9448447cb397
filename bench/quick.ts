import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync, createWriteStream } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import autocannon from 'autocannon'
import { loadConfig } from '../src/config/load.js'
import { loadKeyring } from '../src/tokens/keys.js'
import { AccessTokens } from '../src/tokens/access-token.js'
import { REVOKE_PATH } from '../src/routes/revoke.js'

// Scratch harness: passthrough vs gateway rows, CPU µs/req, for iterating.
const D = Number(process.env.Q_SECONDS ?? 5)
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6391'
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmnopqrstu'
const BRIDGE_SECRET = 'test-bridge-secret-0123456789abcdef0123456789abcdef'
const children: ChildProcess[] = []
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })
execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })
function start (args: string[], env: Record<string, string>, core = '1'): Promise<ChildProcess> {
  const child = spawn('taskset', ['-c', core, process.execPath, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  return new Promise((resolve, reject) => {
    const log = process.env.Q_GWLOG !== undefined && args.some((a) => a.endsWith('server.js')) ? createWriteStream(process.env.Q_GWLOG) : null
    child.stdout!.on('data', (c: Buffer) => { log?.write(c); if (out.length < 65536) out += c.toString(); if (/listening/i.test(out)) resolve(child) })
    child.stderr!.on('data', (c: Buffer) => { if (out.length < 65536) out += c.toString() })
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
}
const cpuMs = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' '); return (Number(f[11]) + Number(f[12])) * 10 }
const rss = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
async function measure (name: string, url: string, headers: Record<string, string>, pid: number, fresh?: () => Record<string, string>) {
  const setupRequest = fresh === undefined ? undefined : (req: any) => ({ ...req, headers: { ...req.headers, ...fresh() } })
  await autocannon({ url, headers, connections: 32, duration: 1, ...(setupRequest ? { requests: [{ setupRequest }] } : {}) } as any)
  const before = cpuMs(pid)
  const r = await autocannon({ url, headers, connections: 32, duration: D, ...(process.env.Q_RATE ? { overallRate: Number(process.env.Q_RATE) } : {}), ...(setupRequest ? { requests: [{ setupRequest }] } : {}) } as any)
  const us = (cpuMs(pid) - before) * 1000 / r.requests.total
  const st = Object.keys(r.statusCodeStats ?? {}).join(',')
  console.log(`${name.padEnd(28)} ${Math.round(r.requests.average).toString().padStart(6)} req/s  ${us.toFixed(1).padStart(6)} µs/req  rss ${rss(pid).toFixed(0)} MB  p99 ${r.latency.p99} ms  [${st}]`)
  return us
}
const dir = mkdtempSync(join(tmpdir(), 'wpag-q-'))
// Q_YAML: more of the gateway's config, e.g. 'audit:\n  stream:\n    enabled: false' (\n written as such).
writeFileSync(join(dir, 'gateway.yaml'), 'server:\n  logLevel: info\npolicy:\n  default: authenticated\n' + (process.env.Q_YAML ?? '').replaceAll('\\n', '\n') + '\n')
// Q_AUDIT_LOG: the per-decision log line's level (audit.logLevel), e.g. silent, in the second gateway (Q_BASE) only when both run.
writeFileSync(join(dir, 'gateway-b.yaml'), `server:\n  logLevel: info\npolicy:\n  default: authenticated\n${process.env.Q_AUDIT_LOG ? `audit:\n  logLevel: ${process.env.Q_AUDIT_LOG}\n` : ''}`)
await start(['--import', 'tsx', 'bench/stub.ts'], { PORT: '9301' }, '0')
const gwEnv = { WORDPRESS_URL: 'http://127.0.0.1:9301', REDIS_URL, BRIDGE_SECRET, JWT_SECRET, HOST: '127.0.0.1', NODE_ENV: 'production', WORKERS: '1' }
const pass = await start(['--import', 'tsx', 'bench/passthrough.ts'], { PORT: '9302', UPSTREAM: 'http://127.0.0.1:9301' })
const gw = await start([...(process.env.Q_NODE_ARGS ?? '').split(' ').filter(Boolean), process.env.Q_SERVER ?? 'dist/server.js'], { ...gwEnv, PORT: '9303', GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
if (process.env.Q_PIDFILE) writeFileSync(process.env.Q_PIDFILE, String(gw.pid))
// Q_BASE: a second gateway (another build's server.js) measured right after each row, for A/B under the same load.
const base = process.env.Q_BASE ? await start([process.env.Q_BASE], { ...gwEnv, PORT: '9304', GATEWAY_CONFIG: join(dir, 'gateway-b.yaml') }) : null
const gws: Array<[string, number, ChildProcess]> = [['', 9303, gw], ...(base ? [['base ', 9304, base] as [string, number, ChildProcess]] : [])]
const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
const config = loadConfig({ env: gwEnv, file: {} })
const tokens = new AccessTokens(await loadKeyring(config), { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 })
const tok = (await tokens.issue(user, 'q-session')).token
const revokedTok = (await tokens.issue(user, 'q-revoked')).token
const rv = await fetch(`http://127.0.0.1:9303${REVOKE_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: revokedTok }) })
if (rv.status !== 200) throw new Error('revoke ' + rv.status)
if (base) await fetch(`http://127.0.0.1:9304${REVOKE_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: revokedTok }) })
const path = '/wp-json/wp/v2/posts/1'
const only = process.env.Q_ONLY
for (let i = 0; i < Number(process.env.Q_RUNS ?? 2); i++) {
  if (!only || only.includes('p')) await measure('passthrough', `http://127.0.0.1:9302${path}`, {}, pass.pid!)
  const freshBad = () => ({ authorization: `Bearer ${tok.slice(0, tok.lastIndexOf('.') + 1)}${randomBytes(32).toString('base64url')}` })
  const rows: Array<[string, string, Record<string, string>, (() => Record<string, string>)?]> = [
    ['g', 'gateway HS256', { authorization: `Bearer ${tok}` }],
    ['n', 'no token', {}],
    ['b', 'bad signature', { authorization: `Bearer ${tok.slice(0, -4)}AAAA` }],
    ['r', 'revoked', { authorization: `Bearer ${revokedTok}` }],
    // A new bad signature on every request: nothing remembered helps.
    ['x', 'bad signature, fresh', {}, freshBad]
  ]
  for (const [key, name, headers, fresh] of rows) {
    if (only ? !only.includes(key) : key === 'x') continue
    for (const [label, port, g] of gws) await measure(label + name, `http://127.0.0.1:${port}${path}`, headers, g.pid!, fresh)
  }
}
await new Promise((resolve) => { gw.on('exit', resolve); gw.kill('SIGTERM') })
base?.kill('SIGTERM')
process.exit(0)
