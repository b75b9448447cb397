import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { join } from 'node:path'

// The proxies people already know, run beside the gateway in the same bench:
// nginx and HAProxy from the system's packages, each started here in the
// foreground with a config of its own in the run's temp dir (no service, no
// root-owned path), one worker, on a free port, forwarding to the same stub.

/** The binary's path, or null when it is not installed. */
export function which (name: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
    try {
      execFileSync(join(dir, name), ['-v'], { stdio: 'ignore' })
      return join(dir, name)
    } catch {}
  }
  return null
}

export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    }).on('error', reject)
  })
}

async function waitForPort (port: number, child: ChildProcess, name: string, output: () => string): Promise<void> {
  const until = Date.now() + 10_000
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${output()}`)
    const up = await new Promise<boolean>((resolve) => {
      const c = connect(port, '127.0.0.1', () => { c.destroy(); resolve(true) }).on('error', () => resolve(false))
    })
    if (up) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${name} did not listen on ${port}: ${output()}`)
}

/** Starts a binary pinned to `core` (taskset, when there is one) and waits until its port answers. */
export async function startBinary (name: string, cmd: string, args: string[], port: number, core: string | null, children: ChildProcess[]): Promise<ChildProcess> {
  // taskset execs the command, so the child's pid is the proxy's own.
  const [file, argv] = core === null ? [cmd, args] : ['taskset', ['-c', core, cmd, ...args]]
  const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  const keep = (c: Buffer) => { if (out.length < 65_536) out += c.toString() }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  await waitForPort(port, child, name, () => out)
  return child
}

/** nginx as one process (no master, no daemon), upstream connections kept alive as the gateway's are. */
export function nginxConfig (dir: string, port: number, upstreamPort: number): string {
  const root = join(dir, 'nginx')
  mkdirSync(root, { recursive: true })
  const file = join(root, 'nginx.conf')
  writeFileSync(file, `daemon off;
master_process off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log stderr crit;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${root}/body;
  proxy_temp_path ${root}/proxy;
  fastcgi_temp_path ${root}/fastcgi;
  uwsgi_temp_path ${root}/uwsgi;
  scgi_temp_path ${root}/scgi;
  upstream stub { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://stub;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`)
  return file
}

/**
 * HAProxy with one thread. With a secret, every request must carry the same
 * HS256 JWT the gateway accepts; HAProxy 2.6 checks, in this order: alg is
 * HS256 (jwt_header_query), the signature (jwt_verify, which checks nothing
 * else), iss and aud as exact strings and exp later than now (jwt_payload_query
 * and date()). No typ, nbf or revocation: HAProxy has no list to look in.
 * Anything else is denied with 401.
 */
export function haproxyConfig (dir: string, name: string, port: number, upstreamPort: number, jwt?: { secret: string, issuer: string, audience: string }): string {
  const root = join(dir, 'haproxy')
  mkdirSync(root, { recursive: true })
  const file = join(root, `${name}.cfg`)
  const checks = jwt === undefined
    ? ''
    : `  http-request set-var(txn.bearer) http_auth_bearer
  http-request set-var(txn.alg) var(txn.bearer),jwt_header_query('$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str HS256 }
  http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.alg,"${jwt.secret}") -m int 1 }
  http-request set-var(txn.iss) var(txn.bearer),jwt_payload_query('$.iss')
  http-request set-var(txn.aud) var(txn.bearer),jwt_payload_query('$.aud')
  http-request set-var(txn.exp) var(txn.bearer),jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 unless { var(txn.iss) -m str ${jwt.issuer} }
  http-request deny deny_status 401 unless { var(txn.aud) -m str ${jwt.audience} }
  http-request deny deny_status 401 unless { var(txn.exp),sub(txn.now) -m int gt 0 }
`
  writeFileSync(file, `global
  nbthread 1
  pidfile ${root}/${name}.pid
  maxconn 4096
defaults
  mode http
  option http-keep-alive
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend in
  bind 127.0.0.1:${port}
${checks}  default_backend stub
backend stub
  http-reuse always
  server stub 127.0.0.1:${upstreamPort}
`)
  return file
}
