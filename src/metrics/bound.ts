import type { Registry } from 'prom-client'

// The per-request metrics, with series bound once and kept: counting a
// request is then a map look-up, a bucket search and a few additions.
// prom-client's Histogram and Counter validate and hash the label set, and
// its histogram turns the bucket's bound into a property name, on every
// call: with three histograms and a counter per request that was about a
// twentieth of the gateway's CPU per request (bench/analysis.md). Everything
// else (the registry, the exposition format, the WORKERS aggregation) is
// prom-client's: these register in its Registry and answer get() in the shape
// its own metrics do (le first, as its histograms put it), so the text and
// the cluster's sums come out the same.

type Labels = Record<string, string | number>
interface Value { labels: Labels, value: number, metricName?: string }
/** What prom-client's own metrics answer to get(). */
interface Values { name: string, help: string, type: 'histogram' | 'counter', values: Value[], aggregator: 'sum' }
interface RegistryMetric { name: string, get: () => Promise<Values> }

function register (registry: Registry, metric: RegistryMetric): void {
  registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0])
}

/** One series of a histogram: its buckets' own counts (not cumulative), sum and count. */
export class HistogramSeries {
  readonly labels: Labels
  readonly #bounds: readonly number[]
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor (labels: Labels, bounds: readonly number[]) {
    this.labels = labels
    this.#bounds = bounds
    this.counts = new Float64Array(bounds.length)
  }

  observe (value: number): void {
    if (!Number.isFinite(value)) return
    const bounds = this.#bounds
    let i = 0
    while (i < bounds.length && value > bounds[i]!) i++
    if (i < bounds.length) this.counts[i]!++
    this.sum += value
    this.count++
  }
}

/** A histogram with one label; `series(value)` is bound once per label value and kept. */
export class BoundHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram' as const
  readonly aggregator = 'sum' as const
  readonly #label: string
  readonly #bounds: readonly number[]
  readonly #series = new Map<string, HistogramSeries>()

  constructor (opts: { name: string, help: string, labelName: string, buckets: readonly number[], registry: Registry }) {
    this.name = opts.name
    this.help = opts.help
    this.#label = opts.labelName
    this.#bounds = [...opts.buckets].sort((a, b) => a - b)
    register(opts.registry, this)
  }

  series (value: string): HistogramSeries {
    let series = this.#series.get(value)
    if (series === undefined) this.#series.set(value, series = new HistogramSeries({ [this.#label]: value }, this.#bounds))
    return series
  }

  async get (): Promise<Values> {
    const values: Value[] = []
    const bucket = `${this.name}_bucket`
    for (const series of this.#series.values()) {
      let cumulative = 0
      for (let i = 0; i < this.#bounds.length; i++) {
        cumulative += series.counts[i]!
        values.push({ labels: { le: this.#bounds[i]!, ...series.labels }, value: cumulative, metricName: bucket })
      }
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: bucket })
      values.push({ labels: { ...series.labels }, value: series.sum, metricName: `${this.name}_sum` })
      values.push({ labels: { ...series.labels }, value: series.count, metricName: `${this.name}_count` })
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}

/** A counter whose series are kept by their label values, joined into one key. */
export class BoundCounter {
  readonly name: string
  readonly help: string
  readonly type = 'counter' as const
  readonly aggregator = 'sum' as const
  readonly #labelNames: readonly string[]
  readonly #series = new Map<string, { labels: Labels, value: number }>()

  constructor (opts: { name: string, help: string, labelNames: readonly string[], registry: Registry }) {
    this.name = opts.name
    this.help = opts.help
    this.#labelNames = opts.labelNames
    register(opts.registry, this)
  }

  /** Adds one to the series of these label values, in labelNames' order. */
  inc (...values: string[]): void {
    // A separator no label value holds: they come from the gateway's own vocabulary (metrics.ts).
    const key = values.join('\u0000')
    let series = this.#series.get(key)
    if (series === undefined) {
      const labels: Labels = {}
      this.#labelNames.forEach((name, i) => { labels[name] = values[i] ?? '' })
      this.#series.set(key, series = { labels, value: 0 })
    }
    series.value++
  }

  async get (): Promise<Values> {
    // No metricName: the registry names a counter's lines itself, as it does prom-client's own.
    const values = [...this.#series.values()].map(({ labels, value }) => ({ labels: { ...labels }, value }))
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator }
  }
}
