import cluster from 'node:cluster'
import { AggregatorRegistry, type Registry } from 'prom-client'

// Metrics of a gateway running as several workers (WORKERS > 1): a scrape
// reaches whichever worker the kernel hands the connection to, so that worker
// asks the primary, which gathers every worker's registry (prom-client's
// AggregatorRegistry: counters and histograms summed, gauges as each says)
// and answers with the whole process's numbers.

const ASK = 'wpag:metrics?'
const ANSWER = 'wpag:metrics'
const TIMEOUT_MS = 5000

interface Answer { type: typeof ANSWER, id: number, text?: string, error?: string }

/** In a worker: its registry joins the cluster's, and scrapes are answered for the whole cluster. Null outside one. */
export function clusterScrape (registry: Registry): (() => Promise<string>) | null {
  if (!cluster.isWorker) return null
  // Constructing one installs prom-client's answer to the primary's requests; setRegistries says what it answers with.
  void new AggregatorRegistry()
  AggregatorRegistry.setRegistries([registry])
  let next = 0
  const pending = new Map<number, { resolve: (text: string) => void, reject: (err: Error) => void }>()
  process.on('message', (m: Partial<Answer>) => {
    if (m?.type !== ANSWER || m.id === undefined) return
    const p = pending.get(m.id)
    pending.delete(m.id)
    if (m.text !== undefined) p?.resolve(m.text)
    else p?.reject(new Error(`the primary could not gather the workers' metrics: ${m.error ?? 'no answer'}`))
  })
  return () => new Promise((resolve, reject) => {
    const id = next++
    const timer = setTimeout(() => {
      pending.delete(id)
      reject(new Error('the primary did not answer for the workers\' metrics'))
    }, TIMEOUT_MS)
    pending.set(id, {
      resolve: (text) => { clearTimeout(timer); resolve(text) },
      reject: (err) => { clearTimeout(timer); reject(err) }
    })
    process.send!({ type: ASK, id })
  })
}

/** In the primary: gathers the workers' metrics for whichever worker asks. */
export function serveClusterMetrics (): void {
  const aggregator = new AggregatorRegistry()
  cluster.on('message', (worker, m: { type?: string, id?: number }) => {
    if (m?.type !== ASK || typeof m.id !== 'number') return
    const id = m.id
    aggregator.clusterMetrics().then(
      (text) => { worker.send({ type: ANSWER, id, text } satisfies Answer) },
      (err: Error) => { worker.send({ type: ANSWER, id, error: err.message } satisfies Answer) }
    )
  })
}
