import t from 'tap'
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client'
import { BoundCounter, BoundHistogram } from '../../src/metrics/bound.js'

// The bound metrics (src/metrics/bound.ts) must read exactly as prom-client's
// own would, fed the same observations: the same exposition text, and the
// same sums when the WORKERS primary aggregates several processes.

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1, 1]
const SAMPLES: Array<[string, number]> = [['allowed', 0.0001], ['allowed', 0.0005], ['allowed', 0.00051], ['refused', 0.003], ['allowed', 0.05], ['refused', 2], ['error', 1], ['allowed', 0.0049]]
const COUNTS: string[][] = [['/wp/v2/posts', 'jwt', 'allowed', '', '2xx'], ['default', 'anonymous', 'refused', 'GW_ERR_TOKEN_MISSING', '4xx'], ['/wp/v2/posts', 'jwt', 'allowed', '', '2xx'], ['a "quoted"\\route', 'jwt', 'allowed', '', '2xx']]

function both (offset = 0): { ours: Registry, theirs: Registry } {
  const ours = new Registry()
  const theirs = new Registry()
  const h = new BoundHistogram({ name: 'x_seconds', help: 'X.', labelName: 'result', buckets: BUCKETS, registry: ours })
  const ph = new Histogram({ name: 'x_seconds', help: 'X.', labelNames: ['result'], buckets: BUCKETS, registers: [theirs] })
  for (const [result, v] of SAMPLES) {
    h.series(result).observe(v + offset)
    ph.labels(result).observe(v + offset)
  }
  const c = new BoundCounter({ name: 'x_total', help: 'Y.', labelNames: ['route', 'via', 'result', 'code', 'status_class'], registry: ours })
  const pc = new Counter({ name: 'x_total', help: 'Y.', labelNames: ['route', 'via', 'result', 'code', 'status_class'], registers: [theirs] })
  for (const labels of COUNTS) {
    c.inc(...labels)
    pc.labels(...labels).inc()
  }
  return { ours, theirs }
}

t.test('the exposition text is prom-client\'s, line for line', async (t) => {
  const { ours, theirs } = both()
  const text = await ours.metrics()
  t.equal(text, await theirs.metrics())
  t.match(text, /^x_seconds_bucket\{le="0\.001",result="allowed"\} 3$/m, 'cumulative buckets')
  t.match(text, /^x_seconds_count\{result="allowed"\} 5$/m)
  t.match(text, /^x_total\{route="\/wp\/v2\/posts",via="jwt",result="allowed",code="",status_class="2xx"\} 2$/m)
})

t.test('several processes sum as prom-client\'s own metrics do (WORKERS)', async (t) => {
  const a = both()
  const b = both(0.0001)
  const ours = AggregatorRegistry.aggregate([await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()])
  const theirs = AggregatorRegistry.aggregate([await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()])
  t.equal(await ours.metrics(), await theirs.metrics())
  t.match(await ours.metrics(), /^x_total\{route="\/wp\/v2\/posts",via="jwt",result="allowed",code="",status_class="2xx"\} 4$/m)
})

t.test('a value that is not a number is not counted', async (t) => {
  const registry = new Registry()
  const h = new BoundHistogram({ name: 'y_seconds', help: 'Y.', labelName: 'via', buckets: BUCKETS, registry })
  h.series('jwt').observe(Number.NaN)
  h.series('jwt').observe(0.002)
  t.match(await registry.metrics(), /^y_seconds_count\{via="jwt"\} 1$/m)
})
