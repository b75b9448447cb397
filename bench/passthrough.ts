import Fastify from 'fastify'
import proxy from '@fastify/http-proxy'

// The baseline: what proxying costs at all. A bare @fastify/http-proxy with
// the same connection settings as the gateway, and no authentication.
const app = Fastify({ logger: false })
await app.register(proxy, {
  upstream: process.env.UPSTREAM!,
  undici: { connections: 64, pipelining: 1, keepAliveTimeout: 30_000 }
})
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.stdout.write(`listening ${process.env.PORT}\n`)
