import t from 'tap'
import { createRequire } from 'node:module'
import { trace } from '@opentelemetry/api'
import { buildTestApp, startUpstream, testConfig } from '../helper.js'
import { startTracing } from '../../src/tracing/index.js'
import { readTracing } from '../../src/config/tracing.js'

// Tracing off, the default: nothing of the SDK is loaded, no hook is added
// to any request, a client's trace headers reach WordPress as they came.

t.test('nothing configured: no tracer, no SDK loaded, no plugin, the client\'s traceparent passed through', async (t) => {
  const upstream = await startUpstream(t)
  const config = testConfig({}, { WORDPRESS_URL: upstream.url })
  t.equal(config.env.tracing, undefined, 'off by default')
  const tracing = await startTracing(config.env.tracing)
  t.equal(tracing, undefined)
  const app = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url }, tracing })

  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'
  const { token } = await app.accessTokens.issue({ id: 7, login: 'ed', email: 'ed@example.test', display_name: 'Ed', roles: ['editor'] }, 'test-session')
  const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/posts', headers: { authorization: `Bearer ${token}`, traceparent } })
  t.equal(res.statusCode, 200)
  t.equal(upstream.requests[0]!.headers.traceparent, traceparent, 'forwarded untouched, as any proxy that takes no part')

  // The SDK and both instrumentations are CommonJS: loaded, they would be in require's cache.
  const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => /@opentelemetry\/(sdk-|exporter-|instrumentation)|@fastify\/otel/.test(p))
  t.same(loaded, [], 'no OpenTelemetry SDK module loaded')
  t.notOk(app.hasRequestDecorator('opentelemetry'), '@fastify/otel not registered: no onRequest hook of its own')
  t.notOk(trace.getTracer('probe').startSpan('probe').isRecording(), 'the global tracer is the no-op one')
})

t.test('which settings turn traces on', async (t) => {
  const on = (env: NodeJS.ProcessEnv, file?: string) => readTracing(env, file, [])
  t.equal(on({}), undefined, 'nothing set: off')
  t.same(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }), { url: 'http://collector:4318/v1/traces', serviceName: 'wp-auth-gateway' }, 'the general endpoint gets /v1/traces')
  t.same(on({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://other:4318' }), { url: 'http://collector:4318/custom', serviceName: 'wp-auth-gateway' }, 'the traces endpoint as it is, first')
  t.same(on({}, 'http://collector:4318'), { url: 'http://collector:4318/v1/traces', serviceName: 'wp-auth-gateway' }, 'the config key')
  t.same(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' }, 'http://file:4318'), { url: 'http://env:4318/v1/traces', serviceName: 'wp-auth-gateway' }, 'the variable wins over the file')
  t.equal(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SERVICE_NAME: 'edge-gw' })?.serviceName, 'edge-gw', 'OTEL_SERVICE_NAME names the service')
  t.equal(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }), undefined, 'OTEL_SDK_DISABLED turns it off')
  t.equal(on({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_TRACES_EXPORTER: 'none' }), undefined, 'so does OTEL_TRACES_EXPORTER=none')
  t.throws(() => testConfig({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318\/v1\/traces" is not an http\(s\) URL/, 'a wrong one stops the start, named')
  t.throws(() => testConfig({ tracing: { endpoint: 'grpc://collector:4317' } }), /config tracing\.endpoint/, 'the key is checked by the schema')
})
