import t from 'tap'
import Fastify from 'fastify'
import errorHandler from '../src/error-handler.js'
import { BadRequest, TokenInvalid, TokenMissing } from '../src/errors.js'

// The error handler's answers: WordPress's error shape, the challenge, the
// audit code; bodies are serialised once and reused, never mixed up.

t.test('refusals keep their body, type, challenge and audit code, however often sent', async (t) => {
  const app = Fastify()
  app.decorateRequest('audit', null)
  const audited: unknown[] = []
  app.addHook('onResponse', async (request) => { audited.push(request.audit) })
  await app.register(errorHandler)
  app.get('/invalid', async () => { throw new TokenInvalid() })
  app.get('/missing', async () => { throw new TokenMissing() })
  app.get('/bad/:n', async (request) => { throw new BadRequest(`detail ${(request.params as { n: string }).n}`) })
  app.get('/noted', async (request) => {
    request.audit = { action: 'noted' }
    throw new TokenMissing()
  })
  t.teardown(() => app.close())

  for (let i = 0; i < 3; i++) {
    const res = await app.inject('/invalid')
    t.equal(res.statusCode, 401)
    t.same(res.json(), { code: 'GW_ERR_TOKEN_INVALID', message: 'The access token is invalid.', data: { status: 401 } })
    t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['www-authenticate'], 'Bearer realm="wp-auth-gateway", error="invalid_token"')
    const missing = await app.inject('/missing')
    t.same(missing.json(), { code: 'GW_ERR_TOKEN_MISSING', message: 'Authentication is required for this route.', data: { status: 401 } })
    t.equal(missing.headers['www-authenticate'], 'Bearer realm="wp-auth-gateway"')
  }
  // More messages for one code than are kept: each still gets its own.
  for (let i = 0; i < 40; i++) {
    const res = await app.inject(`/bad/${i % 20}`)
    t.same(res.json(), { code: 'GW_ERR_BAD_REQUEST', message: `detail ${i % 20}`, data: { status: 400 } }, `message ${i % 20}`)
  }
  t.same(audited.slice(0, 2), [{ code: 'GW_ERR_TOKEN_INVALID' }, { code: 'GW_ERR_TOKEN_MISSING' }])
  await app.inject('/noted')
  t.same(audited.at(-1), { action: 'noted', code: 'GW_ERR_TOKEN_MISSING' }, 'what was noted before is kept')
  const notFound = await app.inject('/nowhere')
  t.equal(notFound.statusCode, 404)
  t.same(notFound.json(), { code: 'GW_ERR_ROUTE_NOT_FOUND', message: 'No route was found matching the URL and request method.', data: { status: 404 } })
  t.equal(notFound.headers['content-type'], 'application/json; charset=utf-8')
})
