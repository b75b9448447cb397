import closeWithGrace from 'close-with-grace'
import type { FastifyServerOptions } from 'fastify'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config/load.js'
import type { Config } from './config/schema.js'

// Listens, and closes gracefully: on SIGTERM/SIGINT in-flight requests finish
// (up to the grace delay) before the process exits.

function fail (line: string): never {
  process.stderr.write(`wp-auth-gateway: ${line}\n`)
  process.exit(1)
}

function redacted (url: string | undefined): string {
  try {
    const u = new URL(url ?? '')
    if (u.password !== '') u.password = '***'
    return u.toString()
  } catch {
    return 'REDIS_URL'
  }
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

let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (err instanceof ConfigError) fail(err.message)
  throw err
}

const app = await buildApp(config, { logger: logger(config) }).catch((err: Error & { code?: string }) => {
  if (err.code === 'GW_ERR_STORE_UNAVAILABLE') {
    const cause = (err.cause as Error | undefined)?.message ?? 'no answer'
    fail(`cannot reach Redis at ${redacted(config.env.redisUrl)} (${cause}); start Redis or fix REDIS_URL`)
  }
  fail(`cannot start: ${err.message}`)
})

try {
  await app.bridge.ping()
} catch (err) {
  // WordPress may still be starting (docker compose); readiness stays 503 until it answers.
  app.log.warn(`WordPress at ${config.env.wordpressUrl.origin} is not usable yet: ${(err as Error).message}`)
}

closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err !== undefined) app.log.error({ err }, 'shutting down after an error')
  else app.log.info(`${signal} received, finishing in-flight requests`)
  await app.close()
})

try {
  await app.listen({ port: config.env.port, host: config.env.host })
} catch (err) {
  fail(`cannot listen on ${config.env.host}:${config.env.port}: ${(err as Error).message}`)
}
