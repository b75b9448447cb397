import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { StoreObserver } from '../store/redis/observe.js'
import { clusterScrape } from './cluster.js'
import { BoundCounter, BoundHistogram } from './bound.js'
import type { Revocations } from '../tokens/revocation.js'
import type { ThrottleScope } from '../throttle/index.js'
import type { KeyFetchObserver } from '../providers/verify.js'

// The gateway's Prometheus metrics (README, "Metrics"), on a registry of the
// app's own: several apps in one process (tests, replicas) never share one.
// Every label value comes from the gateway's own vocabulary (a rule's
// configured route, an endpoint's registered path, an error code, a method
// name), never from what a client sent, so the series stay few.

/** Seconds; from a cached token check (~0.1 ms) to WordPress's slowest pages. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const STORE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]

/** A one-label histogram's children, kept: a request then observes without building its label set anew. */
function byLabel (histogram: Histogram<string>): (value: string) => Histogram.Internal<string> {
  const children = new Map<string, Histogram.Internal<string>>()
  return (value) => {
    let child = children.get(value)
    if (child === undefined) children.set(value, child = histogram.labels(value))
    return child
  }
}

export class GatewayMetrics {
  readonly registry = new Registry()
  readonly requests = new BoundCounter({
    name: 'wpag_requests_total',
    help: 'Requests by route rule, method used, result, refusal code and status class.',
    labelNames: ['route', 'via', 'result', 'code', 'status_class'],
    registry: this.registry
  })

  readonly requestDuration = new BoundHistogram({
    name: 'wpag_request_duration_seconds',
    help: 'Whole requests, from the first byte in to the last byte out.',
    labelName: 'result',
    buckets: LATENCY_BUCKETS,
    registry: this.registry
  })

  readonly gatewayDuration = new BoundHistogram({
    name: 'wpag_gateway_duration_seconds',
    help: 'The gateway\'s own work: until the request went to WordPress, or the whole request where the gateway answered itself.',
    labelName: 'via',
    buckets: LATENCY_BUCKETS,
    registry: this.registry
  })

  readonly upstreamDuration = new BoundHistogram({
    name: 'wpag_upstream_duration_seconds',
    help: 'WordPress: from sending the request until its answer\'s headers arrived.',
    labelName: 'status_class',
    buckets: LATENCY_BUCKETS,
    registry: this.registry
  })

  readonly storeCommands = new Histogram({
    name: 'wpag_store_command_duration_seconds',
    help: 'Redis commands of the store and the rate limiters, by command (the store\'s scripts by name), failed ones included.',
    labelNames: ['command'] as const,
    buckets: STORE_BUCKETS,
    registers: [this.registry]
  })

  readonly storeErrors = new Counter({
    name: 'wpag_store_errors_total',
    help: 'Redis commands that failed: refused, timed out, or not sent for want of a connection.',
    labelNames: ['command'] as const,
    registers: [this.registry]
  })

  readonly storeConnectionErrors = new Counter({
    name: 'wpag_store_connection_errors_total',
    help: 'Errors of the store\'s Redis connection (refused, reset, authentication); it reconnects by itself.',
    registers: [this.registry]
  })

  readonly throttled = new Counter({
    name: 'wpag_throttled_attempts_total',
    help: 'Attempts at a secret refused (429) because the account or the IP failed too often, by what took the secret.',
    labelNames: ['scope'] as const,
    registers: [this.registry]
  })

  readonly auditWritten = new Counter({
    name: 'wpag_audit_entries_written_total',
    help: 'Audit entries (decisions, admin actions, bridge events) written to the audit stream.',
    registers: [this.registry]
  })

  readonly auditDropped = new Counter({
    name: 'wpag_audit_entries_dropped_total',
    help: 'Audit entries dropped: the queue was full (overflow), or the store did not take the batch (store).',
    labelNames: ['reason'] as const,
    registers: [this.registry]
  })

  readonly jwksFetches = new Counter({
    name: 'wpag_jwks_fetches_total',
    help: 'Attempts at an identity provider\'s key set, by configured provider name and result (ok, error): fetches, and discoveries that failed.',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry]
  })

  readonly jwksFetchDuration = new Histogram({
    name: 'wpag_jwks_fetch_duration_seconds',
    help: 'Attempts at an identity provider\'s key set, until the last byte of the answer or the failure.',
    labelNames: ['provider'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry]
  })

  readonly storeCommandsBy = byLabel(this.storeCommands)

  /** For the store: every Redis command and connection error lands here. */
  readonly storeObserver: StoreObserver = {
    command: (command, seconds, failed) => {
      this.storeCommandsBy(command).observe(seconds)
      if (failed) this.storeErrors.labels(command).inc()
    },
    connectionError: () => { this.storeConnectionErrors.inc() }
  }

  /** The exposition text: this process's registry, or with WORKERS > 1 every worker's, gathered by the primary. */
  readonly scrape: () => Promise<string> = clusterScrape(this.registry) ?? (() => this.registry.metrics())

  readonly revocationEntries: Gauge
  readonly revocationSynced: Gauge
  readonly revocationLoaded: Gauge
  readonly stateLosses: Counter

  constructor (revocations: Revocations) {
    collectDefaultMetrics({ register: this.registry })
    const registers = [this.registry]
    // Read when scraped, from the revocation view's own counts.
    // With several workers (WORKERS), the primary gathers each one's view: the largest, the least synced, the oldest load.
    this.revocationEntries = new Gauge({ name: 'wpag_revocation_view_entries', help: 'Entries in this replica\'s local revocation view.', registers, aggregator: 'max', collect () { this.set(revocations.stats.size) } })
    this.revocationSynced = new Gauge({ name: 'wpag_revocation_view_synced', help: '1 while the local revocation view is complete (subscribed and loaded); 0 while tokens are checked against the store.', registers, aggregator: 'min', collect () { this.set(revocations.stats.synced ? 1 : 0) } })
    this.revocationLoaded = new Gauge({ name: 'wpag_revocation_view_last_load_timestamp_seconds', help: 'When the revocation view was last loaded whole from the store (Unix time; 0: never).', registers, aggregator: 'min', collect () { this.set(revocations.stats.loadedAt / 1000) } })
    let losses = 0
    this.stateLosses = new Counter({
      name: 'wpag_state_losses_total',
      help: 'Times this replica found the store without the gateway\'s state (a new generation): every token issued before was refused.',
      registers,
      collect () {
        const now = revocations.stats.stateLosses
        if (now > losses) this.inc(now - losses)
        losses = now
      }
    })
  }

  /** For the identity providers (src/providers/keys.ts); `provider` is a configured name, so the series stay few. */
  readonly keyFetchObserver: KeyFetchObserver = (provider, result, seconds) => {
    this.jwksFetches.labels(provider, result).inc()
    this.jwksFetchDuration.labels(provider).observe(seconds)
  }

  /** Both results of each provider that fetches keys, at 0 until one happens: an absent series reads as "no data", not "no errors". */
  knownProviders (names: readonly string[]): void {
    for (const name of names) for (const result of ['ok', 'error']) this.jwksFetches.labels(name, result).inc(0)
  }

  /** For the throttle (src/throttle). */
  throttledAttempt (scope: ThrottleScope): void {
    this.throttled.labels(scope).inc()
  }
}
