import t from 'tap'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { Ajv2020 } from 'ajv/dist/2020.js'
import addFormats from 'ajv-formats'
import { buildTestApp, password, session, USERS } from '../helper.js'

// The OpenAPI document at /_gateway/openapi.json: its shape, that every
// gateway route in it documents what it answers (so a route added without
// response schemas fails here), and that real answers match it.

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
const OPERATIONS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
// Every credential method on: every security scheme is in the document.
const CONFIG = { auth: { methods: ['jwt', 'apikey', 'basic', 'cookie'] } }

interface Response { description: string, content?: Record<string, { schema?: unknown }> }
interface Operation { responses: Record<string, Response>, security?: Array<Record<string, string[]>>, operationId?: string }
interface Document { openapi: string, info: { version: string }, paths: Record<string, Record<string, Operation>>, components: { schemas: Record<string, unknown>, securitySchemes: Record<string, unknown> } }

async function fetchDocument (app: FastifyInstance): Promise<Document> {
  const res = await app.inject({ method: 'GET', url: '/_gateway/openapi.json' })
  if (res.statusCode !== 200) throw new Error(`openapi.json: ${res.statusCode}`)
  return res.json()
}

const operations = (doc: Document) => Object.entries(doc.paths).flatMap(([path, item]) =>
  Object.entries(item).filter(([method]) => OPERATIONS.includes(method)).map(([method, op]) => ({ path, method, op })))

const pointer = (...parts: string[]) => parts.map((p) => p.replaceAll('~', '~0').replaceAll('/', '~1')).join('/')

function validator (doc: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false })
  addFormats.default(ajv)
  ajv.addSchema(doc, 'openapi.json')
  return {
    /** Compiles the schema at a place in the document (its $refs resolved there). */
    compile: (...path: string[]) => ajv.getSchema(`openapi.json#/${pointer(...path)}`),
    /** Whether an answer matches what the document says of its route and status, and if not, why. */
    check (method: string, path: string, res: LightMyRequestResponse): string | undefined {
      const responses = doc.paths[path]?.[method]?.responses
      if (responses === undefined) return `${method.toUpperCase()} ${path} is not documented`
      const status = String(res.statusCode)
      const key = [status, `${status[0]}XX`, 'default'].find((k) => k in responses)
      if (key === undefined) return `${method.toUpperCase()} ${path}: ${status} is not documented`
      const content = responses[key]!.content
      if (content === undefined) return res.body === '' ? undefined : `${status}: a body where none is documented`
      const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim()
      if (!(type in content)) return `${status}: content type ${type} is not documented (${Object.keys(content).join(', ')})`
      const validate = ajv.getSchema(`openapi.json#/${pointer('paths', path, method, 'responses', key, 'content', type, 'schema')}`)!
      const body: unknown = type.endsWith('json') ? res.json() : res.body
      return validate(body) ? undefined : `${method.toUpperCase()} ${path} ${status}: ${ajv.errorsText(validate.errors)} in ${res.body.slice(0, 300)}`
    }
  }
}

t.test('the document is OpenAPI 3.1, describes every gateway route it shows, and hides what is not the gateway\'s', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  const res = await app.inject({ method: 'GET', url: '/_gateway/openapi.json' })
  t.equal(res.statusCode, 200, 'public: no credentials needed')
  t.match(res.headers['content-type'], /^application\/json/)
  const doc = res.json() as Document
  t.equal(doc.openapi, '3.1.0')
  t.equal(doc.info.version, version, 'the package\'s version')
  t.ok(doc.components.schemas.RestError, 'the error shape is one shared schema')
  t.same(Object.keys(doc.components.securitySchemes).sort(), ['adminToken', 'apiKey', 'basic', 'bearerJwt', 'clientBasic', 'dashboardCookie', 'metricsToken', 'oauth2'])

  const { compile } = validator(doc)
  for (const name of Object.keys(doc.components.schemas)) t.doesNotThrow(() => compile('components', 'schemas', name), `${name} is valid JSON Schema 2020-12`)

  const ids = new Set<string>()
  for (const { path, method, op } of operations(doc)) {
    const at = `${method.toUpperCase()} ${path}`
    // A route without response schemas shows only @fastify/swagger's placeholder: no content, "Default Response".
    const success = Object.entries(op.responses).filter(([status]) => status.startsWith('2'))
    t.ok(success.length > 0 && success.every(([status, r]) => status === '204' ? r.description !== 'Default Response' : r.content !== undefined),
      `${at} documents its success answer (response schemas on the route)`)
    t.ok(Object.keys(op.responses).some((s) => s.startsWith('4')), `${at} documents its errors`)
    for (const [status, r] of Object.entries(op.responses)) {
      for (const type of Object.keys(r.content ?? {})) t.doesNotThrow(() => compile('paths', path, method, 'responses', status, 'content', type, 'schema'), `${at} ${status} ${type} compiles`)
    }
    t.ok(op.security !== undefined, `${at} says what credentials it takes`)
    for (const requirement of op.security ?? []) {
      for (const name of Object.keys(requirement)) t.ok(name in doc.components.securitySchemes, `${at} names a defined scheme (${name})`)
    }
    t.ok(op.operationId !== undefined && !ids.has(op.operationId), `${at} has an operationId of its own`)
    ids.add(op.operationId!)
  }

  t.ok(doc.paths['/wp-json/api/v1/token']?.post, 'the token endpoint is in it')
  t.notOk(doc.paths['/_gateway/events'], 'the bridge-only events route is not')
  t.notOk(Object.keys(doc.paths).some((p) => p === '/' || p.includes('*')), 'nor the forwarded WordPress traffic')
  t.notOk(Object.keys(doc.paths).some((p) => p.startsWith('/wp-json/') && !p.startsWith('/wp-json/api/v1/')), 'nor any WordPress route')
})

t.test('without basic and apikey, their schemes are left out, and so are the requirements naming them', async (t) => {
  const app = await buildTestApp(t)
  const doc = await fetchDocument(app)
  t.notOk(doc.components.securitySchemes.basic)
  t.notOk(doc.components.securitySchemes.apiKey)
  t.same(doc.paths['/wp-json/api/v1/token-validate']!.get!.security, [{ bearerJwt: [] }])
})

t.test('real answers match the document', async (t) => {
  const app = await buildTestApp(t, CONFIG)
  const doc = await fetchDocument(app)
  const { check } = validator(doc)
  const call = async (method: string, path: string, opts: { url?: string, headers?: Record<string, string>, payload?: unknown, status: number }) => {
    const res = await app.inject({ method: method as 'GET', url: opts.url ?? path, headers: opts.headers, payload: opts.payload as string })
    t.equal(res.statusCode, opts.status, `${method} ${opts.url ?? path} answers ${opts.status}`)
    t.equal(check(method.toLowerCase(), path, res), undefined, `${method} ${opts.url ?? path} ${res.statusCode} matches the document`)
    return res
  }

  // Tokens, and the errors of both shapes the login endpoint gives.
  const login = await call('POST', '/wp-json/api/v1/token', { payload: { username: 'admin', password: password('admin') }, status: 200 })
  const asAdmin = { authorization: `Bearer ${login.json().access_token}` }
  await call('POST', '/wp-json/api/v1/token', { payload: { username: 'admin', password: 'wrong' }, status: 401 })
  await call('POST', '/wp-json/api/v1/token', { payload: { username: 'admin' }, status: 400 })
  await call('POST', '/wp-json/api/v1/token', { payload: { grant_type: 'password', username: 'admin', password: 'x' }, status: 401 })
  await call('GET', '/wp-json/api/v1/token-validate', { headers: asAdmin, status: 200 })
  await call('GET', '/wp-json/api/v1/token-validate', { status: 401 })
  const editor = await session(app, 'editor', password('editor'))
  const asEditor = { authorization: `Bearer ${editor.access_token}` }
  const refreshed = await call('POST', '/wp-json/api/v1/token/refresh', { payload: { refresh_token: editor.refresh_token }, status: 200 })
  await call('POST', '/wp-json/api/v1/token/refresh', { payload: { refresh_token: 'x'.repeat(43) }, status: 401 })

  // The gateway's own.
  await call('GET', '/_gateway/healthz', { status: 200 })
  await call('GET', '/_gateway/readyz', { status: 200 })
  await call('GET', '/_gateway/metrics', { headers: asAdmin, status: 200 })
  await call('GET', '/_gateway/metrics', { headers: asEditor, status: 403 })
  await call('GET', '/.well-known/jwks.json', { status: 200 })
  await call('GET', '/.well-known/oauth-authorization-server', { status: 200 })

  // API keys, the caller's own and an administrator's.
  const asRefreshed = { authorization: `Bearer ${refreshed.json().access_token}` }
  const key = await call('POST', '/wp-json/api/v1/api-keys', { headers: asRefreshed, payload: { name: 'openapi test', expires_in: 600 }, status: 201 })
  await call('GET', '/wp-json/api/v1/api-keys', { headers: asRefreshed, status: 200 })
  await call('GET', '/_gateway/admin/api-keys', { url: `/_gateway/admin/api-keys?user_id=${USERS.editor.id}`, headers: asAdmin, status: 200 })
  await call('DELETE', '/wp-json/api/v1/api-keys/{id}', { url: `/wp-json/api/v1/api-keys/${key.json().id as string}`, headers: asRefreshed, status: 204 })
  await call('DELETE', '/_gateway/admin/api-keys/{id}', { url: `/_gateway/admin/api-keys/${key.json().id as string}`, headers: asAdmin, status: 404 })

  // OAuth clients, and the OAuth endpoints with one.
  const client = await call('POST', '/_gateway/admin/clients', { headers: asAdmin, payload: { name: 'openapi test', user_id: USERS.editor.id, grant_types: ['client_credentials'] }, status: 201 })
  const { client_id: clientId } = client.json() as { client_id: string }
  t.teardown(async () => { await app.inject({ method: 'DELETE', url: `/_gateway/admin/clients/${clientId}`, headers: asAdmin }) })
  const rotated = await call('POST', '/_gateway/admin/clients/{client_id}/secret', { url: `/_gateway/admin/clients/${clientId}/secret`, headers: asAdmin, status: 200 })
  await call('GET', '/_gateway/admin/clients', { headers: asAdmin, status: 200 })
  const basic = { authorization: `Basic ${Buffer.from(`${clientId}:${rotated.json().client_secret as string}`).toString('base64')}` }
  const issued = await call('POST', '/wp-json/api/v1/oauth/token', { headers: basic, payload: { grant_type: 'client_credentials' }, status: 200 })
  await call('POST', '/wp-json/api/v1/oauth/introspect', { headers: basic, payload: { token: issued.json().access_token }, status: 200 })
  await call('POST', '/wp-json/api/v1/oauth/revoke', { headers: basic, payload: { token: issued.json().access_token }, status: 200 })
  await call('POST', '/wp-json/api/v1/oauth/token', { payload: { grant_type: 'client_credentials' }, status: 401 })
  await call('DELETE', '/_gateway/admin/clients/{client_id}', { url: `/_gateway/admin/clients/${clientId}`, headers: asAdmin, status: 204 })

  // Sessions and revocation.
  await call('GET', '/_gateway/admin/users/{id}/sessions', { url: `/_gateway/admin/users/${USERS.editor.id}/sessions`, headers: asAdmin, status: 200 })
  await call('DELETE', '/_gateway/admin/users/{id}/sessions/{sid}', { url: `/_gateway/admin/users/${USERS.editor.id}/sessions/none`, headers: asAdmin, status: 404 })
  await call('POST', '/_gateway/admin/tokens/revoke', { headers: asAdmin, payload: { token: refreshed.json().refresh_token }, status: 200 })
  const subscriber = await session(app, 'subscriber', password('subscriber'))
  await call('GET', '/_gateway/admin/clients', { headers: { authorization: `Bearer ${subscriber.access_token}` }, status: 403 })
  await call('POST', '/wp-json/api/v1/token/revoke', { headers: asAdmin, status: 200 })
})
