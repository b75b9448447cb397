import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { cpus, totalmem, tmpdir, release } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { get as httpGet } from 'node:http'
import autocannon from 'autocannon'
import { SignJWT } from 'jose'
import { loadConfig } from '../src/config/load.js'
import { loadKeyring } from '../src/tokens/keys.js'
import { AccessTokens } from '../src/tokens/access-token.js'

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
const PORTS = { stub: 9101, passthrough: 9102, hs256: 9103, rs256: 9104, express: 9105, gatewayWp: 9106, basic: 9107, basicUncached: 9108, provider: 9109 }
const children: ChildProcess[] = []
process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })

// Two cores: each target gets core 1 to itself; the load generator (this
// process) and the stub upstream share core 0. Without the pinning, the
// three compete and the numbers swing by half from run to run.
const TASKSET = (() => { try { execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' }); return true } catch { return false } })()
if (TASKSET) execFileSync('taskset', ['-p', '-c', '0', String(process.pid)], { stdio: 'ignore' })

function start (name: string, args: string[], env: Record<string, string>, core = 1): Promise<ChildProcess> {
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

interface Row { name: string, rps: number, p50: number, p99: number, rssMb: number | null, cpuUs: number | null, status: string }

async function measure (name: string, url: string, headers: Record<string, string>, pid: number | null, opts: { overallRate?: number, duration?: number, connections?: number } = {}): Promise<Row> {
  const connections = opts.connections ?? CONNECTIONS
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
  const gwEnv = { WORDPRESS_URL: stubUrl, REDIS_URL, BRIDGE_SECRET, JWT_SECRET, HOST: '127.0.0.1', NODE_ENV: 'production' }
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

  // Tokens minted with the gateways' own keys, for a user that exists nowhere but in the token.
  const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
  const mint = async (env: Record<string, string>, file: object) => {
    const config = loadConfig({ env: { ...gwEnv, ...env }, file })
    const tokens = new AccessTokens(await loadKeyring(config), { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 })
    return (await tokens.issue(user, 'bench-session')).token
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
  const reject = await measure('gateway, rejecting an invalid token', `http://127.0.0.1:${PORTS.hs256}${path}`, bearer(hsToken.slice(0, -4) + 'AAAA'), hs.pid!)
  rows.push(reject)
  const expressRow = await measure('Express + express-jwt + http-proxy-middleware, valid token', `http://127.0.0.1:${PORTS.express}${path}`, bearer(hsToken), express.pid!)
  rows.push(expressRow)
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
  const targets: Array<[string, boolean, string]> = [
    ['authenticated proxied GET ≥ 0.90 × passthrough req/s', throughputRatio >= 0.9, `${throughputRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${peaks.map(([b, g]) => (g.rps / b.rps).toFixed(2)).join(', ')})`],
    ['p99 added latency ≤ 1 ms at half the passthrough\'s peak rate', addedP99 <= 1, `${addedP99} ms (median of 3 pairs: ${halves.map(([b, g]) => g.p99 - b.p99).join(', ')} ms; autocannon's resolution is 1 ms)`],
    ['invalid-token rejections ≥ 50 × WordPress\'s own 401 rate', reject.rps / wp401.rps >= 50, `${(reject.rps / wp401.rps).toFixed(1)}×`],
    ['≥ 5 × the Express alternative', hsRow.rps / expressRow.rps >= 5, `${(hsRow.rps / expressRow.rps).toFixed(2)}×`],
    ['API key ≥ 0.90 × the JWT row', keyRatio >= 0.9, `${keyRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${keyPairs.map(([j, k]) => (k.rps / j.rps).toFixed(2)).join(', ')})`],
    ['provider token (after the first request) ≥ 0.90 × the JWT row', providerRatio >= 0.9, `${providerRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${providerPairs.map(([j, p]) => (p.rps / j.rps).toFixed(2)).join(', ')})`],
    ['Basic (remembered) ≥ 0.90 × the JWT row', basicRatio >= 0.9, `${basicRatio.toFixed(2)}× (median of 3 back-to-back pairs: ${basicPairs.map(([j, b]) => (b.rps / j.rps).toFixed(2)).join(', ')})`],
    ['gateway RSS under load ≤ 150 MB', maxRss <= 150, `${maxRss.toFixed(0)} MB peak`]
  ]

  const fmt = (n: number, d = 0) => Number.isFinite(n) ? n.toFixed(d) : '—'
  const table = [
    '| row | req/s | p50 ms | p99 ms | CPU µs/req | peak RSS MB | × baseline req/s | answers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((r) => `| ${r.name} | ${fmt(r.rps)} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${r.cpuUs === null ? '—' : fmt(r.cpuUs)} | ${r.rssMb === null ? '—' : fmt(r.rssMb)} | ${fmt(r.rps / base.rps, 2)} | ${r.status} |`)
  ].join('\n')
  const verdicts = targets.map(([what, ok, value]) => `| ${what} | ${value} | ${ok ? 'met' : '**not met**'} |`).join('\n')
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.version}`
  const report = `# Benchmark results\n\nRun on ${new Date().toISOString()}: ${machine}. autocannon, ${CONNECTIONS} connections, ${DURATION} s per row after a 2 s warm-up; every target in its own process${TASKSET ? ' pinned to core 1, the load generator and the stub upstream on core 0' : ' (taskset missing: nothing pinned)'}. Upstream: a stub answering ~1 KB of JSON. Gateways: the built server (\`dist/server.js\`) with Redis, revocation checks on (local view), default policy \`authenticated\`.\n\n${table}\n\n| target | measured | |\n| --- | --- | --- |\n${verdicts}\n`
  const analysis = readFileSync('bench/analysis.md', 'utf8')
  writeFileSync('bench/results.md', report + '\n' + analysis)
  process.stdout.write('\n' + report)
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
