import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { GatewayMetrics } from '../metrics/metrics.js'
import { decisionResult } from '../pipeline/audit.js'
import type { Policy } from '../pipeline/policy.js'
import { RedisStore } from '../store/redis/index.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: GatewayMetrics & {
      /** The metrics port's own server, while `metrics.port` is set. */
      server?: FastifyInstance
    }
  }
}

const STATUS_CLASSES = ['0xx', '1xx', '2xx', '3xx', '4xx', '5xx']
const SITE_ROUTES: Record<string, string> = { xmlrpc: 'site:xmlrpc', login: 'site:login', other: 'site:other' }

/**
 * Prometheus metrics (README, "Metrics"): a request's numbers are taken from
 * the audit stage's facts once its answer has gone, the store's at its
 * client's command door, the revocation view's when scraped. Registered after
 * the audit stage, before every route.
 */
async function metricsPlugin (app: FastifyInstance): Promise<void> {
  const metrics: FastifyInstance['metrics'] = new GatewayMetrics(app.revocations)
  app.decorate('metrics', metrics)
  app.throttle.onThrottled = (scope) => { metrics.throttledAttempt(scope) }
  app.accounts.mail.onThrottled = (scope) => { metrics.throttledAttempt(scope) }
  const { stream } = app.audit
  if (stream !== null) {
    stream.onWritten = (count) => { metrics.auditWritten.inc(count) }
    stream.onDropped = (reason, count) => { metrics.auditDropped.labels(reason).inc(count) }
  }
  app.providerTokens.verifier.onKeyFetch = metrics.keyFetchObserver
  metrics.knownProviders(Object.entries(app.config.providers).filter(([, p]) => p.keys === undefined && (p.jwksUri !== undefined || p.discovery === true)).map(([name]) => name))
  if (app.store instanceof RedisStore) {
    // A store shared by several apps (tests) is observed by each until it closes.
    const stop = app.store.observe(metrics.storeObserver)
    app.addHook('onClose', async () => { stop() })
  }

  const { policy } = app
  app.addHook('onResponse', (request, reply, done) => {
    record(metrics, policy, request, reply)
    done()
  })

  const { port, host } = app.config.metrics
  if (port !== undefined) {
    // For a private network: no credential asked (README, "Metrics").
    const server = Fastify({ logger: false })
    const scrape = async (_request: FastifyRequest, reply: FastifyReply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.scrape())
    server.get('/metrics', scrape)
    server.get('/_gateway/metrics', scrape)
    metrics.server = server
    app.addHook('onReady', async () => { await server.listen({ port, host: host ?? app.config.env.host }) })
    app.addHook('onClose', async () => { await server.close() })
  }
}

function record (metrics: GatewayMetrics, policy: Policy, request: FastifyRequest, reply: FastifyReply): void {
  const ctx = request.gateway
  const facts = request.audit
  const status = reply.statusCode
  const ms = reply.elapsedTime
  const identity = facts?.identity ?? ctx?.identity ?? null
  const via = identity?.method ?? 'anonymous'
  const code = facts?.code
  const result = decisionResult(request, status)
  const statusClass = STATUS_CLASSES[Math.floor(status / 100)] ?? '0xx'
  metrics.requests.inc(routeLabel(policy, request), via, result, code ?? '', statusClass)
  metrics.requestDuration.series(result).observe(ms / 1000)
  metrics.gatewayDuration.series(via).observe((ctx?.forwardedMs ?? ms) / 1000)
  if (ctx?.upstreamMs !== undefined) metrics.upstreamDuration.series(statusClass).observe(ctx.upstreamMs / 1000)
}

/**
 * A bounded name for what was asked: the configured route of the rule that
 * decided a REST request (`default` for the policy's default), the
 * registered path of the gateway's own endpoint, the kind of site page;
 * never the path a client sent.
 */
function routeLabel (policy: Policy, request: FastifyRequest): string {
  const resolved = request.gateway?.resolved
  if (resolved === undefined) {
    const url = request.routeOptions.url
    // The forwarding routes (`/`, `/*`) before the resolve stage classified the request.
    return url === undefined || url === '/' || url === '/*' ? 'unresolved' : url
  }
  switch (resolved.kind) {
    // The gate's own decision where it got that far; a request refused before then is decided here.
    case 'rest': return (request.gateway!.decision ?? policy.decide(resolved.route, resolved.method)).pattern ?? 'default'
    case 'site': return SITE_ROUTES[resolved.page] ?? 'site:other'
    // A gateway endpoint under an alias it does not serve, the bridge's namespace: refused.
    default: return resolved.kind
  }
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['store', 'tokens', 'providers', 'authentication', 'accounts', 'audit'] })
