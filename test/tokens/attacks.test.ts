import t from 'tap'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { SignJWT, UnsecuredJWT } from 'jose'
import { buildTestApp, JWT_SECRET, startUpstream } from '../helper.js'

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

// Every hostile token gets a 401 with a stable code and a challenge, and
// nothing reaches WordPress (a recording upstream proves it).

const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
const secret = new TextEncoder().encode(JWT_SECRET)
const now = () => Math.floor(Date.now() / 1000)
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')

t.test('hostile tokens are refused before WordPress', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url } })
  const { token: good, claims } = await app.accessTokens.issue(user, 'test-session')
  const kid = app.keyring.signer.kid
  const base = { iss: 'wp-auth-gateway', aud: 'wordpress', sub: '2', jti: 'j1', sid: 's1', login: 'editor', email: 'e@x', roles: ['administrator'] }
  const sign = (payload: object, header: object = {}) => new SignJWT({ iat: now(), nbf: now(), exp: now() + 600, ...payload })
    .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid, ...header }).sign(secret)
  const [headerPart, payloadPart] = good.split('.')
  const hmacSigned = (header: object, payload: object) => {
    const input = `${b64(header)}.${b64(payload)}`
    return `${input}.${createHmac('sha256', JWT_SECRET).update(input).digest('base64url')}`
  }
  const { privateKey: rsa, publicKey: rsaPub } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  // Algorithm confusion: an HS256 token whose HMAC key is the RSA public key.
  const pubPem = rsaPub.export({ type: 'spki', format: 'pem' })
  const confusedInput = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64({ ...base, iat: now(), nbf: now(), exp: now() + 600 })}`
  const confused = `${confusedInput}.${createHmac('sha256', pubPem).update(confusedInput).digest('base64url')}`

  const cases: Array<[string, string | undefined, string, number?]> = [
    ['no token', undefined, 'GW_ERR_TOKEN_MISSING'],
    ['empty bearer', 'Bearer ', 'GW_ERR_TOKEN_MALFORMED'],
    ['garbage', 'Bearer not-a-jwt', 'GW_ERR_TOKEN_MALFORMED'],
    ['two parts', `Bearer ${headerPart}.${payloadPart}`, 'GW_ERR_TOKEN_MALFORMED'],
    ['oversized', `Bearer ${'a'.repeat(9000)}.b.c`, 'GW_ERR_TOKEN_MALFORMED'],
    // The signature is checked before the payload is parsed.
    ['payload not JSON', `Bearer ${headerPart}.bm90LWpzb24.${good.split('.')[2]}`, 'GW_ERR_TOKEN_INVALID'],
    ['tampered payload (role escalation)', `Bearer ${headerPart}.${b64({ ...claims, roles: ['administrator'], sub: '1' })}.${good.split('.')[2]}`, 'GW_ERR_TOKEN_INVALID'],
    ['tampered signature', `Bearer ${good.slice(0, -2)}${good.endsWith('AA') ? 'BB' : 'AA'}`, 'GW_ERR_TOKEN_INVALID'],
    ['alg none (empty signature)', `Bearer ${new UnsecuredJWT({ ...base, exp: now() + 600 }).encode()}`, 'GW_ERR_TOKEN_MALFORMED'],
    ['alg none with a signature', `Bearer ${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64({ ...base, iat: now(), nbf: now(), exp: now() + 600 })}.c2ln`, 'GW_ERR_TOKEN_INVALID'],
    ['alg None', `Bearer ${b64({ alg: 'None', typ: 'at+jwt', kid })}.${b64({ ...base, iat: now(), nbf: now(), exp: now() + 600 })}.c2ln`, 'GW_ERR_TOKEN_INVALID'],
    ['alg none with kid and typ', `Bearer ${b64({ alg: 'none', typ: 'at+jwt', kid })}.${b64({ ...base, exp: now() + 600 })}.`, 'GW_ERR_TOKEN_MALFORMED'],
    ['RS256 token to an HS256 gateway', `Bearer ${await new SignJWT({ ...base, iat: now(), nbf: now(), exp: now() + 600 }).setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid }).sign(rsa)}`, 'GW_ERR_TOKEN_INVALID'],
    ['HS256 keyed with an RSA public key', `Bearer ${confused}`, 'GW_ERR_TOKEN_INVALID'],
    ['HS512 with the right secret', `Bearer ${await sign(base, { alg: 'HS512' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['wrong key', `Bearer ${await new SignJWT({ ...base, iat: now(), nbf: now(), exp: now() + 600 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid }).sign(new TextEncoder().encode('another-secret-another-secret-another-secret'))}`, 'GW_ERR_TOKEN_INVALID'],
    ['unknown kid', `Bearer ${await sign(base, { kid: 'someone-else' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['no kid', `Bearer ${await new SignJWT({ ...base, iat: now(), nbf: now(), exp: now() + 600 }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(secret)}`, 'GW_ERR_TOKEN_INVALID'],
    ['expired', `Bearer ${await sign({ ...base, iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 })}`, 'GW_ERR_TOKEN_EXPIRED'],
    ['not yet valid', `Bearer ${await sign({ ...base, nbf: now() + 600 })}`, 'GW_ERR_TOKEN_INVALID'],
    ['wrong typ (an ID token)', `Bearer ${await sign(base, { typ: 'JWT' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['wrong issuer', `Bearer ${await sign({ ...base, iss: 'someone-else' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['wrong audience', `Bearer ${await sign({ ...base, aud: 'wordpress-bridge' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['missing jti', `Bearer ${await sign({ ...base, jti: undefined })}`, 'GW_ERR_TOKEN_INVALID'],
    ['non-numeric sub', `Bearer ${await sign({ ...base, sub: 'admin' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['a crit header', `Bearer ${hmacSigned({ alg: 'HS256', typ: 'at+jwt', kid, crit: ['x-must'], 'x-must': 1 }, { ...base, roles: ['editor'], iat: now(), nbf: now(), exp: now() + 600 })}`, 'GW_ERR_TOKEN_INVALID'],
    // The last of 43 characters carries 4 bits of the 256 and 2 unused ones: flipping an unused bit spells the same bytes anew.
    ['a second spelling of the signature', `Bearer ${good.slice(0, -1)}${B64URL[B64URL.indexOf(good.at(-1)!) ^ 1]}`, 'GW_ERR_TOKEN_INVALID'],
    ['header not JSON', `Bearer bm90LWpzb24.${payloadPart}.${good.split('.')[2]}`, 'GW_ERR_TOKEN_MALFORMED'],
    ['header a JSON array', `Bearer ${b64(['HS256'])}.${payloadPart}.${good.split('.')[2]}`, 'GW_ERR_TOKEN_MALFORMED'],
    ['exp as a string', `Bearer ${await sign({ ...base, exp: String(now() + 600) })}`, 'GW_ERR_TOKEN_INVALID'],
    ['roles not a list', `Bearer ${await sign({ ...base, roles: 'administrator' })}`, 'GW_ERR_TOKEN_INVALID'],
    ['Basic scheme (not enabled)', 'Basic ZWRpdG9yOnB3', 'GW_ERR_AUTH_SCHEME_UNSUPPORTED'],
    ['scheme only', 'Bearer', 'GW_ERR_TOKEN_MALFORMED']
  ]
  for (const [name, authorization, code] of cases) {
    const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: authorization === undefined ? {} : { authorization } })
    t.equal(res.statusCode, 401, `${name}: 401`)
    t.equal(res.json().code, code, `${name}: ${code}`)
    t.same(res.json().data, { status: 401 }, `${name}: WordPress error shape`)
    t.match(res.headers['www-authenticate'], /^Bearer realm="wp-auth-gateway"/, `${name}: challenge`)
  }
  t.equal(upstream.requests.length, 0, 'nothing reached WordPress')

  // The controls: the genuine token goes through, and so do the other legitimate spellings of its claims.
  for (const variant of [await sign({ ...base, roles: ['editor'] }, { typ: 'application/at+jwt' }), await sign({ ...base, roles: ['editor'], aud: ['other', 'wordpress'] })]) {
    const res = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${variant}` } })
    t.equal(res.statusCode, 200, 'typ application/at+jwt and an aud list are accepted')
  }
  t.equal(upstream.requests.length, 2)
  upstream.requests.length = 0
  const ok = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${good}` } })
  t.equal(ok.statusCode, 200)
  t.equal(upstream.requests.length, 1)
})

t.test('duplicated Authorization headers are refused, even when both are valid', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, {}, { env: { WORDPRESS_URL: upstream.url } })
  const { token } = await app.accessTokens.issue(user, 'test-session')
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  // Raw HTTP: fetch would merge the two headers itself.
  const { connect } = await import('node:net')
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`GET /wp-json/wp/v2/users/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nauthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`)
    })
    let data = ''
    socket.on('data', (c) => { data += c.toString() })
    socket.on('end', () => resolve(data))
    socket.on('error', reject)
  })
  t.match(answer, /^HTTP\/1\.1 400/)
  t.match(answer, /GW_ERR_AUTH_HEADER_DUPLICATE/)
  t.equal(upstream.requests.length, 0)
})

t.test('a token for a disabled route is not even looked at', async (t) => {
  const upstream = await startUpstream(t)
  const app = await buildTestApp(t, { policy: { rules: [{ route: '/wp/v2/users*', access: 'deny' }] } }, { env: { WORDPRESS_URL: upstream.url } })
  const { token } = await app.accessTokens.issue(user, 'test-session')
  const res = await app.inject({ method: 'GET', url: '/?rest_route=/wp/v2/USERS/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(res.statusCode, 403)
  t.equal(res.json().code, 'GW_ERR_ROUTE_DISABLED')
  t.equal(upstream.requests.length, 0)
})
