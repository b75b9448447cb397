import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
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
    child.stdout!.on('data', (c: Buffer) => { if (out.length < 65536) out += c.toString(); if (/listening/i.test(out)) resolve(child) })
    child.stderr!.on('data', (c: Buffer) => { if (out.length < 65536) out += c.toString() })
    if (process.env.Q_GC_LOG !== undefined && args.includes('dist/server.js')) child.stdout!.on('data', (c: Buffer) => { for (const l of c.toString().split('\n')) if (/Scavenge|Mark-Compact|Mark-sweep/.test(l)) appendFileSync(process.env.Q_GC_LOG!, l + '\n') })
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
}
const cpuMs = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' '); return (Number(f[11]) + Number(f[12])) * 10 }
const rss = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
async function measure (name: string, url: string, headers: Record<string, string>, pid: number) {
  await autocannon({ url, headers, connections: 32, duration: 1 })
  const before = cpuMs(pid)
  const r = await autocannon({ url, headers, connections: 32, duration: D })
  const us = (cpuMs(pid) - before) * 1000 / r.requests.total
  const st = Object.keys(r.statusCodeStats ?? {}).join(',')
  console.log(`${name.padEnd(28)} ${Math.round(r.requests.average).toString().padStart(6)} req/s  ${us.toFixed(1).padStart(6)} µs/req  rss ${rss(pid).toFixed(0)} MB  [${st}]`)
  return us
}
const dir = mkdtempSync(join(tmpdir(), 'wpag-q-'))
writeFileSync(join(dir, 'gateway.yaml'), 'server:\n  logLevel: info\npolicy:\n  default: authenticated\n' + (process.env.Q_YAML ?? '').replace(/\\n/g, '\n'))
await start(['--import', 'tsx', 'bench/stub.ts'], { PORT: '9201' }, '0')
const gwEnv = { WORDPRESS_URL: 'http://127.0.0.1:9201', REDIS_URL, BRIDGE_SECRET, JWT_SECRET, HOST: '127.0.0.1', NODE_ENV: 'production', WORKERS: '1' }
const pass = await start(['--import', 'tsx', 'bench/passthrough.ts'], { PORT: '9202', UPSTREAM: 'http://127.0.0.1:9201' })
const gw = await start([...(process.env.Q_NODE_ARGS ?? '').split(' ').filter(Boolean), 'dist/server.js'], { ...gwEnv, PORT: '9203', GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
const config = loadConfig({ env: gwEnv, file: {} })
const tokens = new AccessTokens(await loadKeyring(config), { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 })
const tok = (await tokens.issue(user, 'q-session')).token
const revokedTok = (await tokens.issue(user, 'q-revoked')).token
const rv = await fetch(`http://127.0.0.1:9203${REVOKE_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: revokedTok }) })
if (rv.status !== 200) throw new Error('revoke ' + rv.status)
const path = '/wp-json/wp/v2/posts/1'
const only = process.env.Q_ONLY
for (let i = 0; i < Number(process.env.Q_RUNS ?? 2); i++) {
  if (!only || only.includes('p')) await measure('passthrough', `http://127.0.0.1:9202${path}`, {}, pass.pid!)
  if (!only || only.includes('g')) await measure('gateway HS256', `http://127.0.0.1:9203${path}`, { authorization: `Bearer ${tok}` }, gw.pid!)
  if (!only || only.includes('n')) await measure('no token', `http://127.0.0.1:9203${path}`, {}, gw.pid!)
  if (!only || only.includes('b')) await measure('bad signature', `http://127.0.0.1:9203${path}`, { authorization: `Bearer ${tok.slice(0, -4)}AAAA` }, gw.pid!)
  if (!only || only.includes('r')) await measure('revoked', `http://127.0.0.1:9203${path}`, { authorization: `Bearer ${revokedTok}` }, gw.pid!)
}
if (process.env.Q_SNAPSHOT !== undefined) { await new Promise((resolve) => setTimeout(resolve, 3000)); gw.kill('SIGUSR2'); await new Promise((resolve) => setTimeout(resolve, 15000)) }
await new Promise((resolve) => { gw.on('exit', resolve); gw.kill('SIGTERM') })
process.exit(0)
