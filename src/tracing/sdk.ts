import { propagation } from '@opentelemetry/api'
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node'
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import type { FastifyPluginCallback } from 'fastify'
import type { TracingSettings } from '../config/tracing.js'
import type { Tracing } from './index.js'

/**
 * The OpenTelemetry SDK, loaded by startTracing only when tracing is on.
 *
 * What a span may hold: never a header (neither instrumentation records one
 * unless told to, and neither is told), never a body, never a query string's
 * values (they may carry credentials: `?_wpnonce=`, a password reset's
 * `key=`); a path is kept, a query only with its values replaced.
 */
export function startSdk (settings: TracingSettings): Tracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    // Exported in batches off the request path; OTEL_BSP_* tune it, OTEL_TRACES_SAMPLER samples (read by the SDK).
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: settings.url }))]
  })
  // AsyncLocalStorage context, and W3C Trace Context + Baggage as the propagator.
  provider.register()

  // Every undici request (the forwarding to WordPress, the bridge client, JWKS
  // fetches) is a client span under the request that made it, and carries
  // traceparent. Without a request around it (start-up checks, timers) it
  // only carries the context: no stray root spans.
  const undici = new UndiciInstrumentation({
    requireParentforSpans: true,
    startSpanHook: (request) => {
      const url = new URL(request.path, request.origin)
      const query = scrubQuery(url.search)
      return { 'url.full': `${url.origin}${url.pathname}${query}`, 'url.query': query }
    }
  })

  const fastify = new FastifyOtelInstrumentation({
    // One span per request, not one per hook and handler: the request's own
    // span is the parent of the WordPress hop, and per-hook spans would cost
    // more than the gateway's work they measure.
    instrumentHooks: false,
    instrumentHandler: false,
    // An error's stack says nothing a collector needs; the status says it failed.
    recordExceptions: false,
    // Probes and scrapes every few seconds would bury the requests that matter.
    ignorePaths: ({ url }) => PROBES.test(url),
    requestHook: (span, request) => {
      // @fastify/otel records request.url as url.path, query included.
      const path = request.url.split('?', 1)[0]!
      span.setAttribute('url.path', path)
      span.updateName(`${request.method} ${request.routeOptions.url ?? path}`)
    }
  })

  return {
    plugin: fastify.plugin() as FastifyPluginCallback,
    propagatedHeaders: new Set(propagation.fields().map((f) => f.toLowerCase())),
    shutdown: async () => {
      undici.disable()
      fastify.disable()
      await provider.shutdown()
    }
  }
}

const PROBES = /^\/_gateway\/(healthz|readyz|metrics)(\?|$)/

/** `?a=1&b=2` → `?a=REDACTED&b=REDACTED`: the names say what was asked, the values may be secrets. */
function scrubQuery (search: string): string {
  return search === '' ? '' : search.replace(/=[^&]*/g, '=REDACTED')
}
