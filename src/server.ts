import cluster from 'node:cluster'
import v8 from 'node:v8'
import closeWithGrace from 'close-with-grace'
import type { FastifyServerOptions } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config/load.js'
import type { Config } from './config/schema.js'
import { AssertionSigner } from './bridge/assertion.js'
import { BridgeClient } from './bridge/client.js'
import { describeTopology } from './store/redis/topology.js'
import { runPrimary } from './primary.js'
import { startTracing } from './tracing/index.js'

// Listens, and closes gracefully: on SIGTERM/SIGINT in-flight requests finish
// (up to the grace delay) before the process exits.

const USAGE = `Usage: node dist/server.js   (npm start)

Starts the gateway. It takes no arguments: it is configured by the file at
GATEWAY_CONFIG (default config/gateway.yaml; config/gateway.example.yaml
documents every key) and by the environment:

  WORDPRESS_URL          where the gateway reaches WordPress (required)
  BRIDGE_SECRET          the secret shared with the bridge plugin (or BRIDGE_SECRET_FILE)
  JWT_SECRET             HS256 signing secret (or JWT_SECRET_FILE), or for RS256
  JWT_PRIVATE_KEY_FILE, JWT_PUBLIC_KEY_FILE
  REDIS_URL              the shared store (absent: in-process, one instance only);
                         or REDIS_CLUSTER_NODES
  PORT, HOST             where to listen (default 8080, 0.0.0.0)
  WORKERS                processes serving that port (default: the cores
                         available with Redis, 1 without)
  OTEL_EXPORTER_OTLP_ENDPOINT  an OpenTelemetry collector (OTLP/HTTP): traces on

SIGTERM or SIGINT stops it gracefully. The admin command line:
npx wp-auth-gateway --help (config check validates a file without starting).
`

function fail (line: string): never {
  process.stderr.write(`wp-auth-gateway: ${line}\n`)
  process.exit(1)
}

function logger (config: Config): FastifyServerOptions['logger'] {
  // Pretty logs only for a person at a terminal; JSON lines for everything else.
  if (process.stdout.isTTY && import.meta.resolve !== undefined) {
    try {
      import.meta.resolve('pino-pretty')
      return { level: config.server.logLevel, transport: { target: 'pino-pretty' } }
    } catch { /* not installed in production images */ }
  }
  return { level: config.server.logLevel }
}

// Under sustained load V8 let the old generation grow to several times the
// live heap between full collections: RSS rose from 145 to 225 MB over a
// benchmark run with about 30 MB live. At 1.3 times the live heap it stays
// flat, at no measurable CPU per request (bench/analysis.md). V8 reads the
// factor at each collection, so setting it here takes effect; a value given
// on Node's command line is left alone (NODE_OPTIONS may not carry it).
if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) {
  v8.setFlagsFromString('--heap-growing-percent=30')
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(USAGE)
  process.exit(0)
}

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) fail(err.message)
  throw err
}

// WORKERS > 1: this process only starts, watches and stops the workers, each
// of which runs the rest of this file (src/primary.ts).
if (config.env.workers > 1 && cluster.isPrimary) {
  await runPrimary(config)
} else {
  await serve(config)
}

async function serve (config: Config): Promise<void> {
  // WordPress may still be starting (docker compose): its state is reported,
  // and readiness stays 503 until it answers, but it does not stop the start.
  const wordpress = new BridgeClient(config.env.wordpressUrl, new AssertionSigner(config.env.bridgeSecret), 5000)
  const wordpressState = wordpress.ping().then(
    (info) => info.require_assertion ? null : 'WordPress: the bridge lets REST requests without the gateway\'s assertion through; set WP_GATEWAY_REQUIRE_ASSERTION to true (or remove it) inside WordPress',
    (err: Error) => `WordPress at ${config.env.wordpressUrl.origin} is not usable yet: ${(err as Error & { reason?: string }).reason ?? (err.cause as Error | undefined)?.message ?? err.message}`
  ).finally(() => wordpress.close())

  // Before the app: its plugin and the undici instrumentation need the tracer provider.
  const tracing = await startTracing(config.env.tracing)

  const app = await buildApp(config, { logger: logger(config), tracing }).catch(async (err: Error & { code?: string }) => {
    const wp = await wordpressState
    const also = wp === null ? '' : `\nwp-auth-gateway: ${wp}`
    if (err.code === 'GW_ERR_STORE_UNAVAILABLE') {
      const cause = (err.cause as Error | undefined)?.message ?? 'no answer'
      const topology = config.env.redis!
      const setting = topology.mode === 'cluster' ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL'
      fail(`cannot reach Redis at ${describeTopology(topology)} (${cause}); start Redis or fix ${setting}${also}`)
    }
    fail(`cannot start: ${err.message}${also}`)
  })

  const wpProblem = await wordpressState
  if (wpProblem !== null) app.log.warn(wpProblem)
  if (config.env.tracing !== undefined) {
    const { origin, pathname } = new URL(config.env.tracing.url)
    app.log.info(`traces go to ${origin}${pathname} as ${config.env.tracing.serviceName}`)
  }

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
    else app.log.info(`${signal} received, finishing in-flight requests`)
    await app.close()
    // The last spans go to the collector before the process ends.
    await tracing?.shutdown()
  })

  try {
    await app.listen({ port: config.env.port, host: config.env.host })
  } catch (err) {
    fail(`cannot listen on ${config.env.host}:${config.env.port}: ${(err as Error).message}`)
  }
}
