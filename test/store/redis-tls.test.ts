import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { RedisStore } from '../../src/store/redis/index.js'
import { parseTopology } from '../../src/store/redis/topology.js'
import { freePorts } from '../redis-topologies.js'
import { storeContract } from './contract.js'

// rediss://: a Redis that speaks only TLS, with a certificate from a CA of the
// test's own, trusted through REDIS_CA_FILE.

async function tlsRedis (t: Parameters<typeof storeContract>[0]): Promise<{ port: number, ca: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-redis-tls-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=wpag-test-ca')
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost')
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext.cnf')
  const [port] = await freePorts(1)
  const child = spawn('redis-server', ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', join(dir, 'server.crt'), '--tls-key-file', join(dir, 'server.key'), '--tls-ca-cert-file', join(dir, 'ca.crt'), '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  t.teardown(() => { child.kill('SIGKILL') })
  for (let i = 0; i < 100; i++) {
    if (await new Promise<boolean>((resolve) => { const s = connect(port!, '127.0.0.1', () => { s.end(); resolve(true) }); s.on('error', () => resolve(false)) })) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { port: port!, ca: readFileSync(join(dir, 'ca.crt'), 'utf8') }
}

function store (url: string, ca?: string): RedisStore {
  const problems: string[] = []
  const topology = parseTopology({ url, ca }, problems)
  if (topology === undefined) throw new Error(problems.join('; '))
  return new RedisStore({ topology, keyPrefix: `wpag-test:${randomBytes(6).toString('hex')}:`, commandTimeoutMs: 1000 })
}

t.test('contract over TLS, the CA trusted by REDIS_CA_FILE', async (t) => {
  const redis = await tlsRedis(t)
  storeContract(t, async () => {
    const s = store(`rediss://127.0.0.1:${redis.port}`, redis.ca)
    await s.connect()
    return s
  })
})

t.test('a certificate nobody vouches for is refused, saying why', async (t) => {
  const redis = await tlsRedis(t)
  const s = store(`rediss://127.0.0.1:${redis.port}`)
  t.teardown(() => s.close())
  await t.rejects(s.connect(), { code: 'GW_ERR_STORE_UNAVAILABLE', cause: { message: /certificate/i } })
})
