import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { buildTestApp, startServer, startUpstream, testConfig, testEnv } from '../helper.js'
import { startTracing } from '../../src/tracing/index.js'

// Tracing on: the gateway's spans reach a collector, the WordPress hop is a
// child of the request's span, and WordPress gets the trace context.

interface OtlpSpan { traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, attributes: Array<{ key: string, value: Record<string, unknown> }> }
const SERVER = 2
const CLIENT = 3

/**
 * Stands in for an OpenTelemetry Collector: its OTLP/HTTP receiver, POST
 * /v1/traces with the JSON encoding (what @opentelemetry/exporter-trace-otlp-http sends).
 */
async function startCollector (t: Test): Promise<{ url: string, bodies: string[], spans: () => OtlpSpan[], resources: () => unknown[] }> {
  const bodies: string[] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces' && /json/.test(req.headers['content-type'] ?? '')) bodies.push(Buffer.concat(chunks).toString())
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const parsed = () => bodies.map((b) => JSON.parse(b) as { resourceSpans: Array<{ resource: unknown, scopeSpans: Array<{ spans: OtlpSpan[] }> }> })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    spans: () => parsed().flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans))),
    resources: () => parsed().flatMap((b) => b.resourceSpans.map((r) => r.resource))
  }
}

const attr = (span: OtlpSpan, key: string): unknown => {
  const value = span.attributes.find((a) => a.key === key)?.value
  return value === undefined ? undefined : Object.values(value)[0]
}

const user = { id: 7, login: 'ed', email: 'ed@example.test', display_name: 'Ed', roles: ['editor'] }

t.test('a request\'s server span, the WordPress hop under it, traceparent forwarded, no secret recorded', async (t) => {
  const collector = await startCollector(t)
  const upstream = await startUpstream(t)
  const env = { WORDPRESS_URL: upstream.url, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }
  const tracing = await startTracing(testConfig({}, env).env.tracing)
  t.ok(tracing, 'OTEL_EXPORTER_OTLP_ENDPOINT turns tracing on')
  const app = await buildTestApp(t, {}, { env, tracing })
  const { token } = await app.accessTokens.issue(user, 'test-session')

  // 1. A client that sends no trace context: the gateway starts the trace.
  const first = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts?context=edit&_wpnonce=nonce-value-1234', headers: { authorization: `Bearer ${token}` } })
  t.equal(first.statusCode, 200)
  // 2. A client with a trace of its own (W3C Trace Context): the gateway's spans continue it.
  const clientTrace = '4bf92f3577b34da6a3ce929d0e0e4736'
  const clientSpan = '00f067aa0ba902b7'
  const second = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/pages', headers: { authorization: `Bearer ${token}`, traceparent: `00-${clientTrace}-${clientSpan}-01` } })
  t.equal(second.statusCode, 200)
  // 3. Probes and scrapes: no span.
  t.equal((await app.inject({ method: 'GET', url: '/_gateway/healthz' })).statusCode, 200)

  await app.close()
  await tracing!.shutdown() // flushes the batch to the collector
  const spans = collector.spans()
  t.ok(collector.resources().some((r) => JSON.stringify(r).includes('"service.name","value":{"stringValue":"wp-auth-gateway"}')), 'service.name is wp-auth-gateway')

  const servers = spans.filter((s) => s.kind === SERVER)
  const clients = spans.filter((s) => s.kind === CLIENT)
  t.equal(servers.length, 2, 'one server span per request, none for the health probe')
  t.equal(clients.length, 2, 'one client span per WordPress hop')

  const [s1, s2] = [servers.find((s) => attr(s, 'url.path') === '/wp-json/wp/v2/posts'), servers.find((s) => attr(s, 'url.path') === '/wp-json/wp/v2/pages')]
  t.ok(s1 && s2, 'the server spans name the path, without the query')
  t.equal(s1!.name, 'GET /*')
  t.equal(attr(s1!, 'http.response.status_code'), 200)
  const c1 = clients.find((c) => c.parentSpanId === s1!.spanId)
  t.ok(c1, 'the WordPress hop is a child of the request\'s span')
  t.equal(c1!.traceId, s1!.traceId, 'in the same trace')
  t.equal(attr(c1!, 'url.query'), '?context=REDACTED&_wpnonce=REDACTED', 'the query\'s names, not its values')

  const seen = upstream.requests.map((r) => r.rawHeaders.filter((_, i, all) => i % 2 === 0 && all[i]!.toLowerCase() === 'traceparent').length)
  t.same(seen, [1, 1], 'WordPress gets exactly one traceparent each time')
  t.equal(upstream.requests[0]!.headers.traceparent, `00-${s1!.traceId}-${c1!.spanId}-01`, 'the first: the gateway\'s trace, the hop\'s span as parent')

  t.equal(s2!.traceId, clientTrace, 'a client\'s trace is continued')
  t.equal(s2!.parentSpanId, clientSpan, 'under the client\'s span')
  const c2 = clients.find((c) => c.parentSpanId === s2!.spanId)!
  t.equal(upstream.requests[1]!.headers.traceparent, `00-${clientTrace}-${c2.spanId}-01`, 'the second: the client\'s trace, the gateway\'s hop as parent, not the client\'s header copied')

  const exported = collector.bodies.join('\n')
  t.notOk(exported.includes(token), 'no span holds the bearer token')
  t.notOk(/bearer|authorization/i.test(exported), 'nor any Authorization header')
  t.notOk(exported.includes('nonce-value-1234'), 'nor a query string value')
  t.notOk(exported.includes('x-wp-gateway-assertion'), 'nor the assertion')
})

t.test('the server process: tracing from the environment, and the last spans sent on SIGTERM', async (t) => {
  const collector = await startCollector(t)
  const upstream = await startUpstream(t)
  const dir = mkdtempSync(join(tmpdir(), 'wpag-traces-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'gateway.yaml'), 'policy:\n  default: public\n')
  const p = startServer({ ...testEnv({ WORDPRESS_URL: upstream.url }), GATEWAY_CONFIG: join(dir, 'gateway.yaml'), OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'edge-gateway' })
  t.teardown(() => { p.child.kill('SIGKILL') })
  const port = await p.listening
  t.match(p.output().stdout, /traces go to http:\/\/127\.0\.0\.1:\d+\/v1\/traces as edge-gateway/, 'the start says where traces go')
  t.equal((await fetch(`http://127.0.0.1:${port}/wp-json/wp/v2/posts`)).status, 200)
  t.equal(collector.bodies.length, 0, 'batched: nothing sent yet')
  p.child.kill('SIGTERM')
  t.equal(await p.exited, 0)
  const spans = collector.spans()
  t.ok(spans.some((s) => s.kind === SERVER && attr(s, 'url.path') === '/wp-json/wp/v2/posts'), 'the request\'s span was sent before the process ended')
  t.ok(spans.some((s) => s.kind === CLIENT), 'with its WordPress hop')
  t.match(JSON.stringify(collector.resources()), /"service.name","value":\{"stringValue":"edge-gateway"\}/, 'OTEL_SERVICE_NAME names the service')
  const forwarded = upstream.requests.find((r) => r.url === '/wp-json/wp/v2/posts')
  t.match(forwarded?.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'WordPress got traceparent')
  const ping = upstream.requests.find((r) => r.url !== '/wp-json/wp/v2/posts')
  t.equal(ping?.headers.traceparent, undefined, 'the start-up check, outside any request: no trace context')
})
