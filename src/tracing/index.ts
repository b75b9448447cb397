import type { FastifyPluginCallback } from 'fastify'
import type { TracingSettings } from '../config/tracing.js'

/** The process's tracing, once started (README, "Traces"). */
export interface Tracing {
  /** @fastify/otel: a server span per request. Registered first, so it sees every route. */
  plugin: FastifyPluginCallback
  /** The headers the propagator writes on outgoing requests (traceparent, tracestate, baggage). */
  propagatedHeaders: ReadonlySet<string>
  /** Sends what is still buffered, then stops. */
  shutdown: () => Promise<void>
}

/**
 * Starts tracing for the whole process when it is configured, and nothing
 * otherwise: the SDK is imported only here, only when on, so a gateway
 * without a collector loads none of it and adds no hook to any request.
 * Process-wide (a global tracer provider, diagnostics channels): call it
 * once, where the process starts.
 */
export async function startTracing (settings: TracingSettings | undefined): Promise<Tracing | undefined> {
  if (settings === undefined) return undefined
  const { startSdk } = await import('./sdk.js')
  return startSdk(settings)
}
