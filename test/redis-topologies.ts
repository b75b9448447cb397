import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Redis topologies made by the tests themselves, from Debian's redis packages:
// a Redis Cluster and a Sentinel set-up, each process on a free port of
// 127.0.0.1 (chosen at run time, so two runs never collide) with its files in
// a temporary folder. t.teardown stops every process and deletes the folder;
// if the test process dies before it can (SIGKILL, a tap timeout), a small
// detached watcher does the same (see `reaper` below). `startRedis` in
// ./helper.ts stays the way to get a single standalone server.

interface Teardown { teardown: (fn: () => unknown) => void }

const HOST = '127.0.0.1'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------
// A minimal RESP2 client: the harness asks the servers things (CLUSTER INFO,
// SENTINEL MASTER...) over one short-lived connection per question, without
// ioredis's reconnects, queues and ready checks getting in the way.

export type Reply = string | number | null | Reply[]
export class ReplyError extends Error {}

function encode (args: Array<string | number>): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)]
  for (const a of args) {
    const b = Buffer.from(String(a))
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'))
  }
  return Buffer.concat(parts)
}

/** One reply parsed from buf at pos, with the position after it; undefined when buf holds only part of it. */
function parse (buf: Buffer, pos: number): [Reply | ReplyError, number] | undefined {
  const eol = buf.indexOf('\r\n', pos)
  if (eol < 0) return undefined
  const type = String.fromCharCode(buf[pos]!)
  const line = buf.toString('utf8', pos + 1, eol)
  const next = eol + 2
  switch (type) {
    case '+': return [line, next]
    case '-': return [new ReplyError(line), next]
    case ':': return [Number(line), next]
    case '$': {
      const len = Number(line)
      if (len < 0) return [null, next]
      if (buf.length < next + len + 2) return undefined
      return [buf.toString('utf8', next, next + len), next + len + 2]
    }
    case '*': {
      const len = Number(line)
      if (len < 0) return [null, next]
      const items: Reply[] = []
      let p = next
      for (let i = 0; i < len; i++) {
        const r = parse(buf, p)
        if (r === undefined) return undefined
        if (r[0] instanceof ReplyError) throw r[0]
        items.push(r[0])
        p = r[1]
      }
      return [items, p]
    }
    default: throw new Error(`unexpected reply from Redis: ${JSON.stringify(buf.toString('utf8', pos, eol))}`)
  }
}

/**
 * Sends one command (after AUTH when a password is given) on a fresh
 * connection and resolves with the reply; a Redis error reply rejects with
 * ReplyError, a server that does not answer within timeoutMs (stopped,
 * SIGSTOPped) rejects too.
 */
export async function redisCommand (port: number, args: Array<string | number>, opts: { host?: string, password?: string, timeoutMs?: number } = {}): Promise<Reply> {
  const commands = opts.password === undefined ? [args] : [['AUTH', opts.password], args]
  return await new Promise<Reply>((resolve, reject) => {
    let buf = Buffer.alloc(0)
    const replies: Array<Reply | ReplyError> = []
    const socket: Socket = netConnect(port, opts.host ?? HOST)
    const fail = (err: Error) => { socket.destroy(); reject(err) }
    socket.setTimeout(opts.timeoutMs ?? 1000, () => fail(new Error(`${opts.host ?? HOST}:${port} did not answer ${String(args[0])} in time`)))
    socket.on('error', fail)
    socket.on('connect', () => socket.write(Buffer.concat(commands.map(encode))))
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      try {
        let r
        while (replies.length < commands.length && (r = parse(buf, 0)) !== undefined) {
          replies.push(r[0])
          buf = buf.subarray(r[1])
        }
      } catch (err) { fail(err as Error); return }
      if (replies.length < commands.length) return
      socket.destroy()
      const failed = replies.find((r) => r instanceof ReplyError)
      if (failed !== undefined) reject(failed)
      else resolve(replies[replies.length - 1] as Reply)
    })
  })
}

/** `field:value` lines of INFO or CLUSTER INFO as an object. */
export function infoFields (text: Reply): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of String(text).split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

/** A flat [k1, v1, k2, v2...] reply (SENTINEL MASTER, SENTINEL REPLICAS items) as an object. */
function pairs (reply: Reply): Record<string, string> {
  const out: Record<string, string> = {}
  const a = reply as Reply[]
  for (let i = 0; i + 1 < a.length; i += 2) out[String(a[i])] = String(a[i + 1])
  return out
}

/** Thrown by a waitFor probe to stop waiting at once with err: no retry will fix it. */
class StopWaiting extends Error {
  constructor (readonly err: Error) { super(err.message) }
}

/** Calls probe until it returns something other than undefined; errors it throws count as "not yet". */
async function waitFor<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined) return v
    } catch (err) {
      if (err instanceof StopWaiting) throw err.err
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`)
    await sleep(intervalMs)
  }
}

// ---------------------------------------------------------------------------
// Key slots (CRC16/XMODEM of the key or of its {hash tag}, mod 16384).

function crc16 (buf: Buffer): number {
  let crc = 0
  for (const byte of buf) {
    crc ^= byte << 8
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) !== 0 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff
  }
  return crc
}

export function keySlot (key: string): number {
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) key = key.slice(open + 1, close)
  }
  return crc16(Buffer.from(key)) % 16384
}

// ---------------------------------------------------------------------------
// Ports, folders and the processes in them.

/** n distinct ports that were free a moment ago (all probes open at once, so they differ). */
export async function freePorts (n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, HOST, () => resolve(s))
  })))
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

// The watcher: a detached node process that reads "pid <pid> <port>" and
// "dir <path>" lines (and their "-pid"/"-dir" retractions) on stdin. When
// stdin ends, that is when the test process is gone, it SIGKILLs whatever is
// still listed (only if /proc says it is still our redis on that port) and
// deletes the listed folders. After a normal teardown the lists are empty.
const REAPER = `
const fs = require('fs'); const pids = new Map(); const dirs = new Set(); let buf = ''
process.on('SIGINT', () => {}); process.on('SIGTERM', () => {}); process.on('SIGHUP', () => {})
process.stdin.on('error', () => {})
process.stdin.on('data', (d) => {
  buf += d; let i
  while ((i = buf.indexOf('\\n')) >= 0) {
    const [op, a, b] = buf.slice(0, i).split('\\t'); buf = buf.slice(i + 1)
    if (op === 'pid') pids.set(Number(a), b); else if (op === '-pid') pids.delete(Number(a))
    else if (op === 'dir') dirs.add(a); else if (op === '-dir') dirs.delete(a)
  }
})
process.stdin.on('close', () => {
  for (const [pid, port] of pids) {
    try { if (fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes(':' + port)) process.kill(pid, 'SIGKILL') } catch {}
  }
  setTimeout(() => { for (const d of dirs) { try { fs.rmSync(d, { recursive: true, force: true }) } catch {} } process.exit(0) }, 300)
})`

let reaper: ChildProcess | undefined
const livePids = new Map<number, number>()
const liveDirs = new Set<string>()

function tell (line: string[]): void {
  if (reaper === undefined) {
    reaper = spawn(process.execPath, ['-e', REAPER], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
    reaper.on('error', () => {})
    reaper.stdin!.on('error', () => {})
    reaper.unref();
    (reaper.stdin as unknown as Socket).unref()
    // Exits that skip the teardowns (an uncaught error) but still run 'exit' handlers.
    process.once('exit', () => {
      for (const pid of livePids.keys()) { try { process.kill(pid, 'SIGKILL') } catch {} }
      for (const dir of liveDirs) { try { rmSync(dir, { recursive: true, force: true }) } catch {} }
    })
  }
  reaper.stdin!.write(line.join('\t') + '\n')
}

function makeTempDir (kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), `wpag-redis-${kind}-`))
  liveDirs.add(dir)
  tell(['dir', dir])
  return dir
}

function removeTempDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  liveDirs.delete(dir)
  tell(['-dir', dir])
}

class PortInUse extends Error {}

/** One redis-server (data node or sentinel) on one port, that can be stopped, started, paused. */
class RedisProcess {
  child: ChildProcess | undefined
  paused = false
  readonly logFile: string

  constructor (
    public port: number,
    readonly dir: string,
    /** Arguments for a start, asked anew each time (they follow a port picked again). */
    readonly args: () => string[],
    readonly password?: string
  ) {
    mkdirSync(dir, { recursive: true })
    this.logFile = join(dir, 'redis.log')
  }

  get running (): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null
  }

  get pid (): number | undefined { return this.running ? this.child!.pid : undefined }

  log (): string {
    try { return readFileSync(this.logFile, 'utf8').split('\n').slice(-15).join('\n') } catch { return '(no log)' }
  }

  /** Starts the server and resolves once it answers PING. */
  async start (timeoutMs = 10_000): Promise<void> {
    if (this.running) return
    const child = spawn('redis-server', this.args(), { stdio: 'ignore' })
    this.child = child
    this.paused = false
    const pid = child.pid
    let spawnError: Error | undefined
    child.on('error', (err) => { spawnError = err })
    if (pid !== undefined) {
      livePids.set(pid, this.port)
      tell(['pid', String(pid), String(this.port)])
      child.once('exit', () => { livePids.delete(pid); tell(['-pid', String(pid)]) })
    }
    await waitFor(`redis-server on port ${this.port} to answer`, timeoutMs, async () => {
      if (spawnError !== undefined) throw new StopWaiting(spawnError)
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = this.log()
        if (/Address already in use/i.test(log)) throw new StopWaiting(new PortInUse(`port ${this.port} is taken`))
        throw new StopWaiting(new Error(`redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}):\n${log}`))
      }
      const pong = await redisCommand(this.port, ['PING'], { password: this.password, timeoutMs: 500 }).catch((err) => {
        // A refusal (a wrong password...) will not go away; LOADING or a refused connection will.
        if (err instanceof ReplyError && !/LOADING/.test(err.message)) throw new StopWaiting(err)
        return undefined
      })
      return pong === 'PONG' ? true : undefined
    }, 20).catch((err: Error) => {
      if (err instanceof PortInUse || err instanceof ReplyError || /exited/.test(err.message)) throw err
      throw new Error(`${err.message}\n${this.log()}`)
    })
  }

  /**
   * Starts on a fresh port for as long as the chosen one turns out taken
   * (another run grabbed it between the probe and the bind); only for first
   * starts, before anything else knows the port.
   */
  async startOnFreePort (repick = async () => { this.port = (await freePorts(1))[0]! }): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.start()
        return
      } catch (err) {
        if (!(err instanceof PortInUse) || attempt >= 5) throw err
        await repick()
      }
    }
  }

  /** SIGKILL by default: a crash, and nothing to wait for. Resolves once the process is gone. */
  async stop (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child
    if (child === undefined || !this.running) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill(signal)
    if (this.paused && signal !== 'SIGKILL') child.kill('SIGCONT')
    await exited
    this.paused = false
  }

  /** SIGSTOP: connections stay open but nothing answers, like a server that hangs. */
  pause (): void {
    if (!this.running) return
    this.child!.kill('SIGSTOP')
    this.paused = true
  }

  resume (): void {
    if (!this.running) return
    this.child!.kill('SIGCONT')
    this.paused = false
  }
}

function dataNodeArgs (port: number, dir: string, password: string | undefined, extra: string[]): string[] {
  return [
    '--port', String(port), '--bind', HOST,
    '--save', '', '--appendonly', 'no',
    '--dir', dir, '--logfile', join(dir, 'redis.log'), '--daemonize', 'no',
    // A replica's first sync starts at once, not after the default 5 s wait for more replicas.
    '--repl-diskless-sync-delay', '0',
    ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
    ...extra
  ]
}

export interface NodeAddress { host: string, port: number, url: string }
const address = (port: number, password?: string): NodeAddress =>
  ({ host: HOST, port, url: password === undefined ? `redis://${HOST}:${port}` : `redis://:${encodeURIComponent(password)}@${HOST}:${port}` })

async function stopAll (procs: RedisProcess[], dir: string): Promise<void> {
  await Promise.all(procs.map(async (p) => await p.stop('SIGKILL')))
  removeTempDir(dir)
}

// ---------------------------------------------------------------------------
// Redis Cluster

export interface ClusterOptions {
  /** 3 at least (redis-cli refuses fewer). */
  masters?: number
  replicasPerMaster?: 0 | 1
  /** requirepass and masterauth on every node. */
  password?: string
  /** More `redis-server` arguments for every node, e.g. ['--cluster-require-full-coverage', 'no']. */
  extraArgs?: string[]
}

export interface ClusterNode extends NodeAddress { index: number }

export interface RedisCluster {
  /** Every node, masters and replicas, in the order they were created (redis-cli makes the first `masters` ones masters). */
  nodes: ClusterNode[]
  /** "127.0.0.1:p1,127.0.0.1:p2,..." for REDIS_CLUSTER_NODES. */
  nodesEnv: string
  password: string | undefined
  /** The temporary folder (deleted at teardown). */
  dir: string
  /** Process ids of the nodes now running. */
  pids: () => number[]
  /** SIGKILL (default) or SIGTERM node i and wait for it to exit. */
  stopNode: (i: number, signal?: NodeJS.Signals) => Promise<void>
  /** Start node i again on its port with its nodes.conf, and wait until it answers and sees the cluster ok. */
  startNode: (i: number) => Promise<void>
  /** SIGSTOP node i: it keeps its connections but answers nothing. */
  pauseNode: (i: number) => void
  resumeNode: (i: number) => void
  /** The node now serving a slot (or a key's slot), asked of a live node's CLUSTER SLOTS. */
  masterOf: (slotOrKey: number | string) => Promise<ClusterNode>
  /** Wait until every live node says cluster_state:ok, all slots are served and they agree on who serves them. */
  waitUntilHealthy: (timeoutMs?: number) => Promise<void>
  /** Milliseconds the start took (processes, redis-cli, healthy). */
  startupMs: number
}

/** Slot ranges -> master port, as one node sees them (CLUSTER SLOTS). */
async function slotMap (port: number, password?: string): Promise<Array<[number, number, number]>> {
  const slots = await redisCommand(port, ['CLUSTER', 'SLOTS'], { password }) as Reply[][]
  return slots
    .map((r) => [Number(r[0]), Number(r[1]), Number((r[2] as Reply[])[1])] as [number, number, number])
    .sort((a, b) => a[0] - b[0])
}

export async function startCluster (t: Teardown, opts: ClusterOptions = {}): Promise<RedisCluster> {
  const started = Date.now()
  const masters = opts.masters ?? 3
  const replicasPerMaster = opts.replicasPerMaster ?? 0
  const total = masters * (1 + replicasPerMaster)
  const password = opts.password
  const dir = makeTempDir('cluster')
  const ports = await freePorts(total * 2)
  // Data and bus port are both chosen (cluster-port): port+10000, the
  // default, is neither known to be free nor always below 65536.
  const busPorts = ports.slice(total)
  const procs = Array.from({ length: total }, (_, i) => {
    const nodeDir = join(dir, `node-${i}`)
    const p: RedisProcess = new RedisProcess(ports[i]!, nodeDir, () => {
      return dataNodeArgs(p.port, nodeDir, password, [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(nodeDir, 'nodes.conf'),
        '--cluster-node-timeout', '1000',
        '--cluster-port', String(busPorts[i]),
        '--cluster-announce-ip', HOST,
        ...(opts.extraArgs ?? [])
      ])
    }, password)
    return p
  })
  t.teardown(async () => await stopAll(procs, dir))

  await Promise.all(procs.map(async (p, i) => await p.startOnFreePort(async () => {
    [p.port, busPorts[i]] = await freePorts(2) as [number, number]
  })))

  // redis-cli makes the first `masters` addresses masters and gives each replicas from the rest.
  const cli = spawn('redis-cli', [
    ...(password === undefined ? [] : ['-a', password, '--no-auth-warning']),
    '--cluster', 'create', ...procs.map((p) => `${HOST}:${p.port}`),
    '--cluster-replicas', String(replicasPerMaster), '--cluster-yes'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  let cliOut = ''
  cli.stdout.on('data', (c) => { cliOut += c })
  cli.stderr.on('data', (c) => { cliOut += c })
  const code = await new Promise<number | null>((resolve) => cli.on('close', resolve))
  if (code !== 0) throw new Error(`redis-cli --cluster create failed (${code}):\n${cliOut}`)

  const nodes: ClusterNode[] = procs.map((p, index) => ({ ...address(p.port, password), index }))
  const live = () => procs.filter((p) => p.running && !p.paused)

  const waitUntilHealthy = async (timeoutMs = 15_000): Promise<void> => {
    await waitFor('the cluster to be healthy', timeoutMs, async () => {
      const maps: string[] = []
      for (const p of live()) {
        const info = infoFields(await redisCommand(p.port, ['CLUSTER', 'INFO'], { password }))
        if (info.cluster_state !== 'ok' || info.cluster_slots_assigned !== '16384' || info.cluster_slots_ok !== '16384' || Number(info.cluster_known_nodes) !== total) return undefined
        maps.push(JSON.stringify(await slotMap(p.port, password)))
        const repl = infoFields(await redisCommand(p.port, ['INFO', 'replication'], { password }))
        // A replica that never synced cannot be promoted (its data is "too old"): wait for the link.
        if (repl.role === 'slave' && repl.master_link_status !== 'up') return undefined
      }
      return maps.every((m) => m === maps[0]) ? true : undefined
    })
  }
  await waitUntilHealthy()

  const nodeAt = (port: number): ClusterNode => {
    const n = nodes.find((x) => x.port === port)
    if (n === undefined) throw new Error(`no node of this cluster on port ${port}`)
    return n
  }

  const masterOf = async (slotOrKey: number | string): Promise<ClusterNode> => {
    const slot = typeof slotOrKey === 'number' ? slotOrKey : keySlot(slotOrKey)
    let lastErr: unknown
    for (const p of live()) {
      try {
        const hit = (await slotMap(p.port, password)).find(([from, to]) => slot >= from && slot <= to)
        if (hit !== undefined) return nodeAt(hit[2])
      } catch (err) { lastErr = err }
    }
    throw new Error(`no live node knows who serves slot ${slot}${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`)
  }

  const proc = (i: number): RedisProcess => {
    const p = procs[i]
    if (p === undefined) throw new Error(`no node ${i} (the cluster has ${total})`)
    return p
  }

  return {
    nodes,
    nodesEnv: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    password,
    dir,
    pids: () => procs.flatMap((p) => p.pid === undefined ? [] : [p.pid]),
    stopNode: async (i, signal) => await proc(i).stop(signal),
    startNode: async (i) => {
      const p = proc(i)
      await p.start()
      await waitFor(`node ${i} to see the cluster ok`, 15_000, async () =>
        infoFields(await redisCommand(p.port, ['CLUSTER', 'INFO'], { password })).cluster_state === 'ok' ? true : undefined)
    },
    pauseNode: (i) => proc(i).pause(),
    resumeNode: (i) => proc(i).resume(),
    masterOf,
    waitUntilHealthy,
    startupMs: Date.now() - started
  }
}

// ---------------------------------------------------------------------------
// Sentinel

export interface SentinelOptions {
  replicas?: number
  sentinels?: number
  masterName?: string
  /** requirepass and masterauth on master and replicas; `sentinel auth-pass` on the sentinels. */
  password?: string
  /** requirepass on the sentinels (they use it with each other too). */
  sentinelPassword?: string
}

export interface SentinelAddress { host: string, port: number }

export interface RedisSentinel {
  /** The master at start (after a failover, ask currentMaster()). */
  master: NodeAddress
  replicas: NodeAddress[]
  sentinels: SentinelAddress[]
  masterName: string
  /** "redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/<masterName>" */
  url: string
  password: string | undefined
  sentinelPassword: string | undefined
  dir: string
  pids: () => number[]
  /** SIGKILL the master the sentinels know now; resolves with its address. */
  killMaster: () => Promise<SentinelAddress>
  /** The master as the first sentinel that answers sees it. */
  currentMaster: () => Promise<SentinelAddress>
  /**
   * After killMaster(): waits until every running sentinel names another
   * master and that one says role:master; tookMs counts from the kill.
   */
  waitForFailover: (timeoutMs?: number) => Promise<SentinelAddress & { tookMs: number }>
  /**
   * Starts the data node or sentinel on that port again (killing it first if
   * it runs). A data node that is not the current master comes back as a
   * replica of the current master.
   */
  restart: (port: number) => Promise<void>
  startupMs: number
}

export async function startSentinel (t: Teardown, opts: SentinelOptions = {}): Promise<RedisSentinel> {
  const started = Date.now()
  const replicaCount = opts.replicas ?? 1
  const sentinelCount = opts.sentinels ?? 3
  const masterName = opts.masterName ?? 'wpag'
  const quorum = Math.floor(sentinelCount / 2) + 1
  const { password, sentinelPassword } = opts
  const dir = makeTempDir('sentinel')
  const ports = await freePorts(1 + replicaCount + sentinelCount)

  // Who a data node follows when it (re)starts: undefined for a master.
  const follows = new Map<RedisProcess, number | undefined>()
  const dataNode = (i: number): RedisProcess => {
    const nodeDir = join(dir, `redis-${i}`)
    const p: RedisProcess = new RedisProcess(ports[i]!, nodeDir, () => {
      const leader = follows.get(p)
      return dataNodeArgs(p.port, nodeDir, password, [
        '--replica-announce-ip', HOST,
        ...(leader === undefined ? [] : ['--replicaof', HOST, String(leader)])
      ])
    }, password)
    return p
  }
  const master = dataNode(0)
  const replicas = Array.from({ length: replicaCount }, (_, i) => dataNode(1 + i))
  const data = [master, ...replicas]
  const sentinels = Array.from({ length: sentinelCount }, (_, i) => {
    const sDir = join(dir, `sentinel-${i}`)
    const conf = join(sDir, 'sentinel.conf')
    let written: number | undefined
    const s: RedisProcess = new RedisProcess(ports[1 + replicaCount + i]!, sDir, () => {
      const port = s.port
      // Written for a first start (on this port): later starts keep what the
      // sentinel rewrote there, its view and its id.
      if (written !== port) {
        writeFileSync(conf, [
          `port ${port}`, `bind ${HOST}`, 'daemonize no', `dir ${sDir}`, `logfile ${join(sDir, 'redis.log')}`,
          `sentinel announce-ip ${HOST}`, `sentinel announce-port ${port}`,
          ...(sentinelPassword === undefined ? [] : [`requirepass ${sentinelPassword}`]),
          `sentinel monitor ${masterName} ${HOST} ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 3000`,
          `sentinel parallel-syncs ${masterName} 1`,
          ...(password === undefined ? [] : [`sentinel auth-pass ${masterName} ${password}`])
        ].join('\n') + '\n')
        written = port
      }
      return [conf, '--sentinel']
    }, sentinelPassword)
    return s
  })
  t.teardown(async () => await stopAll([...sentinels, ...data], dir))

  await master.startOnFreePort()
  for (const r of replicas) follows.set(r, master.port)
  await Promise.all(replicas.map(async (r) => await r.startOnFreePort()))
  // Sentinels learn the replicas from the master's INFO: have them connected first.
  await waitFor('the replicas to be in sync', 10_000, async () => {
    const info = infoFields(await redisCommand(master.port, ['INFO', 'replication'], { password }))
    const online = Object.entries(info).filter(([k, v]) => /^slave\d+$/.test(k) && v.includes('state=online')).length
    return online === replicaCount ? true : undefined
  })
  await Promise.all(sentinels.map(async (s) => await s.startOnFreePort()))

  const ask = async (s: RedisProcess, args: Array<string | number>) =>
    await redisCommand(s.port, ['SENTINEL', ...args], { password: sentinelPassword })

  // Every sentinel must know the master, each replica (linked) and every other sentinel.
  await waitFor('the sentinels to know the set-up', 15_000, async () => {
    for (const s of sentinels) {
      const m = pairs(await ask(s, ['MASTER', masterName]))
      if (m.flags !== 'master' || Number(m['num-slaves']) !== replicaCount || Number(m['num-other-sentinels']) !== sentinelCount - 1) return undefined
      const rs = (await ask(s, ['REPLICAS', masterName]) as Reply[]).map(pairs)
      if (!rs.every((r) => r.flags === 'slave' && r['master-link-status'] === 'ok')) return undefined
    }
    return true
  }, 100)

  const running = () => sentinels.filter((s) => s.running && !s.paused)
  const currentMaster = async (): Promise<SentinelAddress> => {
    let lastErr: unknown
    for (const s of running()) {
      try {
        const [host, port] = await ask(s, ['GET-MASTER-ADDR-BY-NAME', masterName]) as [string, string]
        return { host, port: Number(port) }
      } catch (err) { lastErr = err }
    }
    throw new Error(`no sentinel answered${lastErr instanceof Error ? `: ${lastErr.message}` : ''}`)
  }

  let killed: { port: number, at: number } | undefined
  const killMaster = async (): Promise<SentinelAddress> => {
    const current = await currentMaster()
    const p = data.find((d) => d.port === current.port)
    if (p === undefined) throw new Error(`the sentinels name ${current.host}:${current.port}, not a node of this set-up`)
    await p.stop('SIGKILL')
    killed = { port: p.port, at: Date.now() }
    return current
  }

  const waitForFailover = async (timeoutMs = 15_000): Promise<SentinelAddress & { tookMs: number }> => {
    if (killed === undefined) throw new Error('waitForFailover() follows killMaster()')
    const { port: gone, at } = killed
    const next = await waitFor('the sentinels to fail over', timeoutMs, async () => {
      let agreed: number | undefined
      for (const s of running()) {
        const [, port] = await ask(s, ['GET-MASTER-ADDR-BY-NAME', masterName]) as [string, string]
        if (Number(port) === gone || (agreed !== undefined && agreed !== Number(port))) return undefined
        agreed = Number(port)
      }
      if (agreed === undefined) return undefined
      const role = infoFields(await redisCommand(agreed, ['INFO', 'replication'], { password })).role
      return role === 'master' ? agreed : undefined
    })
    killed = undefined
    return { host: HOST, port: next, tookMs: Date.now() - at }
  }

  const restart = async (port: number): Promise<void> => {
    const p = [...data, ...sentinels].find((x) => x.port === port)
    if (p === undefined) throw new Error(`no process of this set-up on port ${port}`)
    await p.stop('SIGKILL')
    if (data.includes(p)) {
      const current = await currentMaster()
      follows.set(p, current.port === port ? undefined : current.port)
    }
    await p.start()
  }

  return {
    master: address(master.port, password),
    replicas: replicas.map((r) => address(r.port, password)),
    sentinels: sentinels.map((s) => ({ host: HOST, port: s.port })),
    masterName,
    url: `redis+sentinel://${sentinels.map((s) => `${HOST}:${s.port}`).join(',')}/${masterName}`,
    password,
    sentinelPassword,
    dir,
    pids: () => [...data, ...sentinels].flatMap((p) => p.pid === undefined ? [] : [p.pid]),
    killMaster,
    currentMaster,
    waitForFailover,
    restart,
    startupMs: Date.now() - started
  }
}
