import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync, readdirSync } from 'node:fs'
import { cpus, totalmem, tmpdir, release, loadavg } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { get as httpGet } from 'node:http'
import autocannon from 'autocannon'
import { SignJWT } from 'jose'
import { loadConfig } from '../src/config/load.js'
import { loadKeyring } from '../src/tokens/keys.js'
import { AccessTokens } from '../src/tokens/access-token.js'
import { REVOKE_PATH } from '../src/routes/revoke.js'
import { which, freePort, startBinary, nginxConfig, haproxyConfig } from './peers.js'

// npm run bench: every row measured one after another on this machine, in
// one run, each target in a process of its own; ratios are against the bare
// @fastify/http-proxy passthrough measured in the same run. The WordPress and
// Redis are made for the run (scripts/with-test-services.sh) and removed after.

const DURATION = Number(process.env.BENCH_SECONDS ?? 8)
const CONNECTIONS = 32
const need = (name: string): string => {
  const value = process.env[name]
  if (value === undefined || value === '') throw new Error(`${name} is not set: run the benchmark with npm run bench`)
  return value
}
const WP_URL = need('WP_TEST_URL')
const REDIS_URL = need('TEST_REDIS_URL')
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdefghijklmnopqrstu'
const BRIDGE_SECRET = process.env.BRIDGE_SECRET ?? 'test-bridge-secret-0123456789abcdef0123456789abcdef'
const PORTS = { stub: 9101, passthrough: 9102, hs256: 9103, rs256: 9104, express: 9105, gatewayWp: 9106, basic: 9107, basicUncached: 9108, provider: 9109, workers1: 9110, workers2: 9111 }
const children: ChildProcess[] = []
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

// Two cores: each target gets core 1 to itself; the load generator (this
// process) and the stub upstream share core 0. Without the pinning, the
// three compete and the numbers swing by half from run to run.
const TASKSET = (() => { try { execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }); return true } catch { return false } })()
if (TASKSET) execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })

function start (name: string, args: string[], env: Record<string, string>, core: number | string = 1): Promise<ChildProcess> {
  const [cmd, argv] = TASKSET ? ['taskset', ['-c', String(core), process.execPath, ...args]] : [process.execPath, args]
  const child = spawn(cmd, argv, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  return new Promise((resolve, reject) => {
    // Kept only until the target is up: afterwards its output is drained and dropped,
    // so the load generator spends nothing on it.
    const check = (chunk: Buffer) => {
      if (out.length < 65_536) out += chunk.toString()
      if (/listening/i.test(out)) resolve(child)
    }
    child.stdout!.on('data', check)
    child.stderr!.on('data', (c: Buffer) => { if (out.length < 65_536) out += c.toString() })
    child.on('exit', (code) => reject(new Error(`${name} exited (${code}): ${out}`)))
  })
}

const peakRssMb = (pid: number) => Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024
// User + system CPU time of a process so far, in ms (/proc/<pid>/stat fields 14 and 15, in clock ticks).
const TICK_MS = 1000 / Number((() => { try { return execFileSync('getconf', ['CLK_TCK']).toString().trim() } catch { return '100' } })())
const cpuMs = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS
}
/** A process and its descendants (a gateway with WORKERS > 1 is a primary and its workers). */
// Found by each process's parent pid (/proc/<pid>/stat field 4): not every kernel has /proc/<pid>/task/*/children.
const tree = (pid: number): number[] => {
  const kids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try { return Number(readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === pid ? [Number(d)] : [] } catch { return [] }
  })
  return [pid, ...kids.flatMap(tree)]
}
const treeCpuMs = (pid: number) => tree(pid).reduce((sum, p) => sum + cpuMs(p), 0)
const treeRssMb = (pid: number) => tree(pid).reduce((sum, p) => sum + peakRssMb(p), 0)
const cpuMsOf = cpuMs
const peakRssMbOf = peakRssMb

interface Row { name: string, rps: number, p50: number, p99: number, rssMb: number | null, cpuUs: number | null, status: string }

async function measure (name: string, url: string, headers: Record<string, string>, pid: number | null, opts: { overallRate?: number, duration?: number, connections?: number, tree?: boolean } = {}): Promise<Row> {
  const connections = opts.connections ?? CONNECTIONS
  // One process, or (tree) the process and its children, summed.
  const cpuMs = opts.tree === true ? treeCpuMs : cpuMsOf
  const peakRssMb = opts.tree === true ? treeRssMb : peakRssMbOf
  // A short warm-up lets the JIT and the connection pools settle first.
  await autocannon({ url, headers, connections, duration: 2 })
  const cpuBefore = pid === null ? 0 : cpuMs(pid)
  const r = await autocannon({ url, headers, connections, duration: opts.duration ?? DURATION, ...(opts.overallRate ? { overallRate: opts.overallRate } : {}) })
  // The target's own CPU time per answered request: steadier than req/s on a shared machine.
  const cpuUs = pid === null || r.requests.total === 0 ? null : (cpuMs(pid) - cpuBefore) * 1000 / r.requests.total
  const statuses = Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => `${code}×${(s as { count: number }).count}`).join(' ')
  const row = { name, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, rssMb: pid === null ? null : peakRssMb(pid), cpuUs, status: statuses + (r.errors > 0 ? ` errors×${r.errors}` : '') }
  process.stdout.write(`${name}: ${Math.round(row.rps)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, ${cpuUs === null ? '' : `${cpuUs.toFixed(0)} µs CPU/req, `}${statuses}\n`)
  return row
}

/**
 * PHP's built-in server closes every connection after its answer, which
 * autocannon does not read; WordPress's row is measured with this closed
 * loop of plain requests instead (a new connection each, as PHP wants).
 */
async function closedLoop (name: string, url: string, concurrency: number, seconds: number): Promise<Row> {
  const latencies: number[] = []
  const statuses = new Map<number, number>()
  const until = Date.now() + seconds * 1000
  const one = () => new Promise<void>((resolve) => {
    const started = performance.now()
    httpGet(url, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => {
        latencies.push(performance.now() - started)
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1)
        resolve()
      })
    }).on('error', () => resolve())
  })
  const worker = async () => { while (Date.now() < until) await one() }
  await Promise.all(Array.from({ length: concurrency }, worker))
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? NaN)
  const row = { name, rps: latencies.length / seconds, p50: pct(0.5), p99: pct(0.99), rssMb: null, cpuUs: null, status: [...statuses].map(([c, n]) => `${c}×${n}`).join(' ') + ` (closed loop, ${concurrency} at a time)` }
  process.stdout.write(`${name}: ${Math.round(row.rps)} req/s, p50 ${row.p50} ms, p99 ${row.p99} ms, ${row.status}\n`)
  return row
}

async function main (): Promise<void> {
  const tsx = ['--import', 'tsx']
  const stubUrl = `http://127.0.0.1:${PORTS.stub}`
  const stub = await start('stub', [...tsx, 'bench/stub.ts'], { PORT: String(PORTS.stub), BRIDGE_UPSTREAM: WP_URL }, 0)

  // Gateways: the built server, as production runs it, with Redis and revocation on.
  const dir = mkdtempSync(join(tmpdir(), 'wpag-bench-'))
  writeFileSync(join(dir, 'gateway.yaml'), 'server:\n  logLevel: info\npolicy:\n  default: authenticated\n')
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(join(dir, 'rsa.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }))
  writeFileSync(join(dir, 'rs256.yaml'), 'server:\n  logLevel: info\ntokens:\n  algorithm: RS256\npolicy:\n  default: authenticated\n')
  // WORKERS=1 on every gateway row: with REDIS_URL set the default is a cluster, whose CPU
  // lies in workers that the primary's /proc/<pid>/stat does not count.
  const gwEnv = { WORDPRESS_URL: stubUrl, REDIS_URL, BRIDGE_SECRET, JWT_SECRET, HOST: '127.0.0.1', NODE_ENV: 'production', WORKERS: '1' }
  const hs = await start('gateway HS256', ['dist/server.js'], { ...gwEnv, PORT: String(PORTS.hs256), GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
  const rs = await start('gateway RS256', ['dist/server.js'], { ...gwEnv, PORT: String(PORTS.rs256), GATEWAY_CONFIG: join(dir, 'rs256.yaml'), JWT_PRIVATE_KEY_FILE: join(dir, 'rsa.pem') })
  const gwWp = await start('gateway before WordPress', ['dist/server.js'], { ...gwEnv, WORDPRESS_URL: WP_URL, PORT: String(PORTS.gatewayWp), GATEWAY_CONFIG: join(dir, 'gateway.yaml') })
  // API keys and Basic against the stub, whose bridge routes lead to the real WordPress: it checks the password.
  const basicYaml = (cacheSeconds: number) => `server:\n  logLevel: info\nauth:\n  methods: [jwt, apikey, basic]\n  basic: { requireTls: false, cacheSeconds: ${cacheSeconds} }\npolicy:\n  default: authenticated\n`
  writeFileSync(join(dir, 'basic.yaml'), basicYaml(3600))
  writeFileSync(join(dir, 'basic-uncached.yaml'), basicYaml(0))
  const basic = await start('gateway Basic', ['dist/server.js'], { ...gwEnv, PORT: String(PORTS.basic), GATEWAY_CONFIG: join(dir, 'basic.yaml') })
  const basicUncached = await start('gateway Basic uncached', ['dist/server.js'], { ...gwEnv, PORT: String(PORTS.basicUncached), GATEWAY_CONFIG: join(dir, 'basic-uncached.yaml') })
  // A provider token (issue 12): keys inline, so the row measures the gateway, not a key server; the
  // first request provisions a WordPress user through the stub's bridge routes, the rest hit the cache.
  const idp = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const idpIssuer = 'https://idp.bench.example'
  const idpPem = idp.publicKey.export({ type: 'spki', format: 'pem' }).toString()
  writeFileSync(join(dir, 'provider.yaml'), `server:\n  logLevel: info\nauth:\n  methods: [jwt, oidc]\npolicy:\n  default: authenticated\nproviders:\n  bench:\n    issuer: ${idpIssuer}\n    keys: [${JSON.stringify(idpPem)}]\n    audiences: [wordpress]\n`)
  const providerGw = await start('gateway provider token', ['dist/server.js'], { ...gwEnv, PORT: String(PORTS.provider), GATEWAY_CONFIG: join(dir, 'provider.yaml') })
  const passthrough = await start('passthrough', [...tsx, 'bench/passthrough.ts'], { PORT: String(PORTS.passthrough), UPSTREAM: stubUrl })
  const express = await start('express', [...tsx, 'bench/express-proxy.ts'], { PORT: String(PORTS.express), UPSTREAM: stubUrl, JWT_SECRET })
  // One worker against two, both free to use either core (see the rows' note).
  const workers1 = await start('gateway WORKERS=1', ['dist/server.js'], { ...gwEnv, PORT: String(PORTS.workers1), GATEWAY_CONFIG: join(dir, 'gateway.yaml') }, '0,1')
  const workers2 = await start('gateway WORKERS=2', ['dist/server.js'], { ...gwEnv, WORKERS: '2', PORT: String(PORTS.workers2), GATEWAY_CONFIG: join(dir, 'gateway.yaml') }, '0,1')

  // The proxies people know, when installed: pinned to core 1 as the other targets are.
  const core = TASKSET ? '1' : null
  const skipped: string[] = []
  const nginxBin = which('nginx')
  const haproxyBin = which('haproxy')
  const nginx = nginxBin === null
    ? null
    : await (async () => { const port = await freePort(); return { port, child: await startBinary('nginx', nginxBin, ['-e', 'stderr', '-c', nginxConfig(dir, port, PORTS.stub)], port, core, children) } })()
  if (nginx === null) skipped.push('nginx is not installed (apt-get install nginx): its row is skipped.')
  const haproxy = haproxyBin === null
    ? null
    : await (async () => {
      const [pass, jwt] = [await freePort(), await freePort()]
      return {
        pass: { port: pass, child: await startBinary('haproxy', haproxyBin, ['-db', '-f', haproxyConfig(dir, 'pass', pass, PORTS.stub)], pass, core, children) },
        jwt: { port: jwt, child: await startBinary('haproxy jwt', haproxyBin, ['-db', '-f', haproxyConfig(dir, 'jwt', jwt, PORTS.stub, { secret: JWT_SECRET, issuer: 'wp-auth-gateway', audience: 'wordpress' })], jwt, core, children) }
      }
    })()
  if (haproxy === null) skipped.push('HAProxy is not installed (apt-get install haproxy): its rows and the verdict against it are skipped.')

  // Tokens minted with the gateways' own keys, for a user that exists nowhere but in the token.
  const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
  const mint = async (env: Record<string, string>, file: object, session = 'bench-session') => {
    const config = loadConfig({ env: { ...gwEnv, ...env }, file })
    const tokens = new AccessTokens(await loadKeyring(config), { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 })
    return (await tokens.issue(user, session)).token
  }
  const hsToken = await mint({}, {})
  const rsToken = await mint({ JWT_PRIVATE_KEY_FILE: join(dir, 'rsa.pem') }, { tokens: { algorithm: 'RS256' } })
  const path = '/wp-json/wp/v2/posts/1'
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` })

  const rows: Row[] = []
  rows.push(await measure('stub upstream, directly', stubUrl + path, {}, stub.pid!))
  // The pair the main target compares is measured three times, alternating,
  // and the medians kept: on a shared 2-core machine one run can be off by a fifth.
  const peaks: Array<[Row, Row]> = []
  for (let i = 0; i < 3; i++) {
    peaks.push([
      await measure(`baseline: bare @fastify/http-proxy passthrough (run ${i + 1})`, `http://127.0.0.1:${PORTS.passthrough}${path}`, {}, passthrough.pid!),
      await measure(`gateway, valid HS256 token (run ${i + 1})`, `http://127.0.0.1:${PORTS.hs256}${path}`, bearer(hsToken), hs.pid!)
    ])
  }
  const byRps = (rs: Row[]) => [...rs].sort((a, b) => a.rps - b.rps)[1]!
  const base = { ...byRps(peaks.map((p) => p[0])), name: '**baseline**: bare @fastify/http-proxy passthrough (median of 3)' }
  const hsRow = { ...byRps(peaks.map((p) => p[1])), name: 'gateway, valid HS256 token (median of 3)' }
  rows.push(base, hsRow)
  rows.push(await measure('gateway, valid RS256 token', `http://127.0.0.1:${PORTS.rs256}${path}`, bearer(rsToken), rs.pid!))
  // An API key for the editor, made through the admin API as an operator would (an administrator's token).
  const adminToken = await (async () => {
    const config = loadConfig({ env: gwEnv, file: {} })
    const tokens = new AccessTokens(await loadKeyring(config), { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 })
    return (await tokens.issue({ id: 1, login: 'admin', email: 'admin@example.test', display_name: 'admin', roles: ['administrator'] }, 'bench-admin')).token
  })()
  const made = await fetch(`http://127.0.0.1:${PORTS.basic}/_gateway/admin/api-keys`, { method: 'POST', headers: { ...bearer(adminToken), 'content-type': 'application/json' }, body: JSON.stringify({ user_id: 2, name: 'bench' }) })
  if (made.status !== 201) throw new Error(`making the API key failed: ${made.status} ${await made.text()}`)
  const apiKey = (await made.json() as { key: string }).key
  // Each method is paired with the JWT row of the same process, as the provider row is: the ratio is then
  // the method's own cost, not the difference between two processes (their JIT, their place in memory).
  const keyPairs: Array<[Row, Row]> = []
  for (let i = 0; i < 3; i++) {
    keyPairs.push([
      await measure(`gateway with API keys and Basic, valid HS256 token (API key pair, run ${i + 1})`, `http://127.0.0.1:${PORTS.basic}${path}`, bearer(hsToken), basic.pid!),
      await measure(`gateway, API key (run ${i + 1})`, `http://127.0.0.1:${PORTS.basic}${path}`, bearer(apiKey), basic.pid!)
    ])
  }
  rows.push({ ...byRps(keyPairs.map((p) => p[1])), name: 'gateway, API key (median of 3)' })
  // A provider token, after its first request, back to back with the gateway's own HS256 token on the
  // same process (jwt is enabled there too): two processes differ by more than the two tokens do.
  const person = randomBytes(4).toString('hex')
  const providerToken = await new SignJWT({ email: `bench-${person}@idp.example`, email_verified: true, name: 'Bench person' })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuer(idpIssuer).setAudience('wordpress').setSubject(`bench-${person}`).setIssuedAt().setExpirationTime('2h').sign(idp.privateKey)
  const first = await fetch(`http://127.0.0.1:${PORTS.provider}${path}`, { headers: bearer(providerToken) })
  if (first.status !== 200) throw new Error(`the provider token's first request failed: ${first.status} ${await first.text()}`)
  const providerPairs: Array<[Row, Row]> = []
  for (let i = 0; i < 3; i++) {
    providerPairs.push([
      await measure(`gateway with providers, valid HS256 token (provider pair, run ${i + 1})`, `http://127.0.0.1:${PORTS.provider}${path}`, bearer(hsToken), providerGw.pid!),
      await measure(`gateway, provider token after its first request (run ${i + 1})`, `http://127.0.0.1:${PORTS.provider}${path}`, bearer(providerToken), providerGw.pid!)
    ])
  }
  rows.push({ ...byRps(providerPairs.map((p) => p[1])), name: 'gateway, provider token (RS256, OIDC) after its first request (median of 3)' })
  // Basic, remembered: measured back to back with the JWT row, three times, and the median ratio kept.
  const basicAuth = { authorization: `Basic ${Buffer.from('editor:editor-password-123').toString('base64')}` }
  const basicPairs: Array<[Row, Row]> = []
  for (let i = 0; i < 3; i++) {
    basicPairs.push([
      await measure(`gateway with API keys and Basic, valid HS256 token (Basic pair, run ${i + 1})`, `http://127.0.0.1:${PORTS.basic}${path}`, bearer(hsToken), basic.pid!),
      await measure(`gateway, Basic, verified login remembered (run ${i + 1})`, `http://127.0.0.1:${PORTS.basic}${path}`, basicAuth, basic.pid!)
    ])
  }
  rows.push({ ...byRps(basicPairs.map((p) => p[1])), name: 'gateway, Basic, verified login remembered (median of 3)' })
  // Basic, not remembered: WordPress hashes the password on every request (PHP's built-in server, one at a time).
  const uncached = await measure('gateway, Basic, WordPress checks every request (cacheSeconds: 0)', `http://127.0.0.1:${PORTS.basicUncached}${path}`, basicAuth, basicUncached.pid!, { connections: 4 })
  rows.push(uncached)
  // Refusals, all on the HS256 gateway's process: no token, a bad signature, a revoked token.
  const noToken = await measure('gateway, refusing a request with no token', `http://127.0.0.1:${PORTS.hs256}${path}`, {}, hs.pid!)
  const reject = await measure('gateway, refusing a bad signature', `http://127.0.0.1:${PORTS.hs256}${path}`, bearer(hsToken.slice(0, -4) + 'AAAA'), hs.pid!)
  // A token of its own session, revoked through the gateway as a logout would (RFC 7009).
  const revokedToken = await mint({}, {}, 'bench-revoked')
  const revoking = await fetch(`http://127.0.0.1:${PORTS.hs256}${REVOKE_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: revokedToken }) })
  if (revoking.status !== 200) throw new Error(`revoking the token failed: ${revoking.status} ${await revoking.text()}`)
  const refused = await fetch(`http://127.0.0.1:${PORTS.hs256}${path}`, { headers: bearer(revokedToken) })
  if (refused.status !== 401) throw new Error(`the revoked token was answered ${refused.status}`)
  const revoked = await measure('gateway, refusing a revoked token', `http://127.0.0.1:${PORTS.hs256}${path}`, bearer(revokedToken), hs.pid!)
  rows.push(noToken, reject, revoked)
  const expressRow = await measure('Express + express-jwt + http-proxy-middleware, valid token', `http://127.0.0.1:${PORTS.express}${path}`, bearer(hsToken), express.pid!)
  rows.push(expressRow)
  // nginx and HAProxy, each one process on core 1 with the same stub behind it.
  if (nginx !== null) rows.push(await measure('nginx passthrough (1 worker)', `http://127.0.0.1:${nginx.port}${path}`, {}, nginx.child.pid!))
  let haproxyRefusal: Row | null = null
  if (haproxy !== null) {
    rows.push(await measure('HAProxy passthrough (nbthread 1)', `http://127.0.0.1:${haproxy.pass.port}${path}`, {}, haproxy.pass.child.pid!))
    rows.push(await measure('HAProxy jwt_verify, valid HS256 token', `http://127.0.0.1:${haproxy.jwt.port}${path}`, bearer(hsToken), haproxy.jwt.child.pid!))
    haproxyRefusal = await measure('HAProxy jwt_verify, refusing a request with no token', `http://127.0.0.1:${haproxy.jwt.port}${path}`, {}, haproxy.jwt.child.pid!)
    rows.push(haproxyRefusal)
    rows.push(await measure('HAProxy jwt_verify, refusing a bad signature', `http://127.0.0.1:${haproxy.jwt.port}${path}`, bearer(hsToken.slice(0, -4) + 'AAAA'), haproxy.jwt.child.pid!))
  }
  // WORKERS: both gateways unpinned, CPU and RSS summed over the primary and its workers.
  const w1 = await measure('gateway WORKERS=1, valid HS256 token (unpinned)', `http://127.0.0.1:${PORTS.workers1}${path}`, bearer(hsToken), workers1.pid!, { tree: true })
  const w2 = await measure('gateway WORKERS=2, valid HS256 token (unpinned; CPU and RSS of the primary and both workers)', `http://127.0.0.1:${PORTS.workers2}${path}`, bearer(hsToken), workers2.pid!, { tree: true })
  rows.push(w1, w2)
  const wp401 = await closedLoop('WordPress itself, unauthenticated REST request → 401', `${WP_URL}/wp-json/wp/v2/users/me`, 8, DURATION)
  rows.push(wp401)
  const gw401 = await measure('gateway, the same request → 401', `http://127.0.0.1:${PORTS.gatewayWp}/wp-json/wp/v2/users/me`, {}, gwWp.pid!)
  rows.push(gw401)

  // Added latency at a steady half of the passthrough's peak rate.
  // A p99 at 1 ms resolution swings with every GC pause, so the pair is run
  // three times, alternating, and the medians are compared.
  const rate = Math.floor(base.rps / 2)
  const halves: Array<[Row, Row]> = []
  for (let i = 0; i < 3; i++) {
    halves.push([
      await measure(`baseline at ${rate} req/s (run ${i + 1})`, `http://127.0.0.1:${PORTS.passthrough}${path}`, {}, passthrough.pid!, { overallRate: rate }),
      await measure(`gateway HS256 at ${rate} req/s (run ${i + 1})`, `http://127.0.0.1:${PORTS.hs256}${path}`, bearer(hsToken), hs.pid!, { overallRate: rate })
    ])
  }
  const mid = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!
  // Each pair ran back to back, so its ratio or difference is the fair one; the median of three is kept.
  const throughputRatio = mid(peaks.map(([b, g]) => g.rps / b.rps))
  const addedP99 = mid(halves.map(([b, g]) => g.p99 - b.p99))
  const basicRatio = mid(basicPairs.map(([j, b]) => b.rps / j.rps))
  const keyRatio = mid(keyPairs.map(([j, k]) => k.rps / j.rps))
  const providerRatio = mid(providerPairs.map(([j, p]) => p.rps / j.rps))
  rows.push(...peaks.flat(), ...keyPairs.flat(), ...providerPairs.flat(), ...basicPairs.flat(), ...halves.flat())

  const maxRss = Math.max(...[hs, rs, gwWp, basic, providerGw].map((c) => peakRssMb(c.pid!)))
  // CPU per request of the pinned target: the primary figures. Each ratio is between rows of this run.
  const cpuRatio = mid(peaks.map(([b, g]) => g.cpuUs! / b.cpuUs!))
  const badSigRatio = reject.cpuUs! / noToken.cpuUs!
  const revokedRatio = revoked.cpuUs! / noToken.cpuUs!
  const cpuTargets: Array<[string, boolean, string]> = [
    ['authenticated proxied GET: CPU/req ≤ 1.0 × the bare passthrough\'s', cpuRatio <= 1, `${cpuRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${peaks.map(([b, g]) => `${(g.cpuUs! / b.cpuUs!).toFixed(2)} = ${g.cpuUs!.toFixed(0)}/${b.cpuUs!.toFixed(0)} µs`).join(', ')})`],
    ['refusing a bad signature: CPU/req ≤ 1.2 × refusing no token', badSigRatio <= 1.2, `${badSigRatio.toFixed(2)}× (${reject.cpuUs!.toFixed(0)} vs ${noToken.cpuUs!.toFixed(0)} µs)`],
    ['refusing a revoked token: CPU/req ≤ 1.2 × refusing no token', revokedRatio <= 1.2, `${revokedRatio.toFixed(2)}× (${revoked.cpuUs!.toFixed(0)} vs ${noToken.cpuUs!.toFixed(0)} µs)`],
    ...(haproxyRefusal === null
      ? []
      : [['refusing no token: CPU/req ≤ 3 × HAProxy jwt_verify refusing no token', noToken.cpuUs! / haproxyRefusal.cpuUs! <= 3, `${(noToken.cpuUs! / haproxyRefusal.cpuUs!).toFixed(2)}× (${noToken.cpuUs!.toFixed(0)} vs ${haproxyRefusal.cpuUs!.toFixed(1)} µs)`] as [string, boolean, string]]),
    ['gateway RSS under load ≤ 150 MB', maxRss <= 150, `${maxRss.toFixed(0)} MB peak (WORKERS=1)`]
  ]
  const targets: Array<[string, boolean, string]> = [
    ['authenticated proxied GET ≥ 0.90 × passthrough req/s', throughputRatio >= 0.9, `${throughputRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${peaks.map(([b, g]) => (g.rps / b.rps).toFixed(2)).join(', ')})`],
    ['p99 added latency ≤ 1 ms at half the passthrough\'s peak rate', addedP99 <= 1, `${addedP99} ms (median of 3 pairs: ${halves.map(([b, g]) => g.p99 - b.p99).join(', ')} ms; autocannon's resolution is 1 ms)`],
    ['invalid-token rejections ≥ 50 × WordPress\'s own 401 rate', reject.rps / wp401.rps >= 50, `${(reject.rps / wp401.rps).toFixed(1)}×`],
    ['≥ 5 × the Express alternative', hsRow.rps / expressRow.rps >= 5, `${(hsRow.rps / expressRow.rps).toFixed(2)}×`],
    ['API key ≥ 0.90 × the JWT row', keyRatio >= 0.9, `${keyRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${keyPairs.map(([j, k]) => (k.rps / j.rps).toFixed(2)).join(', ')})`],
    ['provider token (after the first request) ≥ 0.90 × the JWT row', providerRatio >= 0.9, `${providerRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${providerPairs.map(([j, p]) => (p.rps / j.rps).toFixed(2)).join(', ')})`],
    ['Basic (remembered) ≥ 0.90 × the JWT row', basicRatio >= 0.9, `${basicRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${basicPairs.map(([j, b]) => (b.rps / j.rps).toFixed(2)).join(', ')})`],
  ]

  const fmt = (n: number, d = 0) => Number.isFinite(n) ? n.toFixed(d) : '—'
  const table = [
    '| row | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | × baseline CPU/req | × baseline req/s | answers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.cpuUs === null ? '—' : fmt(r.cpuUs, r.cpuUs < 10 ? 1 : 0)} | ${r.rssMb === null ? '—' : fmt(r.rssMb)} | ${r.cpuUs === null ? '—' : fmt(r.cpuUs / base.cpuUs!, 2)} | ${fmt(r.rps / base.rps, 2)} | ${r.status} |`)
  ].join('\n')
  const cpuVerdicts = cpuTargets.map(([what, ok, value]) => `| ${what} | ${value} | ${ok ? 'met' : '**not met**'} |`).join('\n')
  const verdicts = targets.map(([what, ok, value]) => `| ${what} | ${value} | ${ok ? 'met' : '**not met**'} |`).join('\n')
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`
  const load = loadavg().map((l) => l.toFixed(2)).join(', ')
  const workersNote = `WORKERS=2 gave ${(w2.rps / w1.rps).toFixed(2)}× the req/s of WORKERS=1 at ${(w2.cpuUs! / w1.cpuUs!).toFixed(2)}× the CPU per request. Both ran unpinned: on ${cpus().length} cores shared with the load generator and the stub, a second worker can only take CPU from them, so 2× is out of reach here; the pair shows the cluster's own cost, not its scaling.`
  const report = `# Benchmark results\n\nRun on ${new Date().toISOString()} (load average at the end: ${load}): ${machine}. autocannon, ${CONNECTIONS} connections, ${DURATION} s per row after a 2 s warm-up; every target in its own process${TASKSET ? ' pinned to core 1, the load generator and the stub upstream on core 0' : ' (taskset missing: nothing pinned)'}. Upstream: a stub answering ~1 KB of JSON. Gateways: the built server (\`dist/server.js\`) with Redis, revocation checks on (local view), default policy \`authenticated\`.\n\n${table}\n\n${skipped.map((line) => `${line}\n`).join('')}${workersNote}\n\nThe issue's targets, as CPU per request of the pinned target (the steadier figure on a shared machine):\n\n| target | measured | |\n| --- | --- | --- |\n${cpuVerdicts}\n\nThe earlier targets, in req/s and latency (they move with the machine's load):\n\n| target | measured | |\n| --- | --- | --- |\n${verdicts}\n`
  const analysis = readFileSync('bench/analysis.md', 'utf8')
  writeFileSync('bench/results.md', report + '\n' + analysis)
  process.stdout.write('\n' + report)
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
