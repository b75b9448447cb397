import cluster, { type Worker } from 'node:cluster'
import { pino } from 'pino'
import type { Config } from './config/schema.js'
import { serveClusterMetrics } from './metrics/cluster.js'

// WORKERS > 1 (README, "Every core"): the primary process serves nothing
// itself. It starts the workers one after another (the first one's failure
// to start, a bad Redis say, is then reported once, by it, and ends
// everything), restarts a worker that dies later, gathers the workers'
// metrics for scrapes, and on SIGTERM or SIGINT lets each finish its
// in-flight requests and waits for them. Each worker is a whole gateway
// (src/server.ts): its own revocation view and caches, the one shared Redis.

const RESTART_DELAY_MS = 1000
/** How long the workers get to finish before they are killed (theirs is 10 s). */
const STOP_GRACE_MS = 15_000

/** Signals every worker there is. */
const signalWorkers = (signal: NodeJS.Signals) => { for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal) }

export async function runPrimary (config: Config): Promise<void> {
  const log = pino({ level: config.server.logLevel, base: { pid: process.pid, role: 'primary' } })
  const wanted = config.env.workers
  const listening = new Set<number>()
  let stopping = false

  serveClusterMetrics()

  const start = (): Promise<Worker> => new Promise((resolve, reject) => {
    const worker = cluster.fork()
    const failed = (code: number | null, signal: string | null) => { reject(Object.assign(new Error(`worker exited (${signal ?? code})`), { exitCode: code ?? 1 })) }
    worker.once('exit', failed)
    worker.once('listening', () => {
      worker.off('exit', failed)
      listening.add(worker.id)
      resolve(worker)
    })
  })

  cluster.on('exit', (worker, code, signal) => {
    const wasServing = listening.delete(worker.id)
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit()
      return
    }
    if (!wasServing) return // a start that failed: handled where it was started
    log.error({ worker: worker.process.pid, code, signal }, `worker ${worker.process.pid} died (${signal ?? `exit code ${code}`}); starting another`)
    setTimeout(() => {
      start().catch((err: Error) => { log.error({ err }, 'a worker could not be restarted; the others go on') })
    }, RESTART_DELAY_MS).unref()
  })

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    log.info(`${signal} received, stopping ${listening.size} workers after their in-flight requests`)
    signalWorkers('SIGTERM')
    setTimeout(() => {
      log.error('workers did not stop in time; killing them')
      signalWorkers('SIGKILL')
      process.exit(1)
    }, STOP_GRACE_MS).unref()
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit()
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)

  try {
    for (let i = 0; i < wanted; i++) {
      if (stopping) return
      await start()
    }
  } catch (err) {
    // The worker said why (one line on stderr); the rest would only say it again.
    stopping = true
    signalWorkers('SIGTERM')
    process.exitCode = (err as { exitCode?: number }).exitCode ?? 1
    return
  }
  log.info({ workers: wanted, port: config.env.port }, `${wanted} workers listening on ${config.env.host}:${config.env.port}`)
}
