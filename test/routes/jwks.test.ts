import t from 'tap'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { calculateJwkThumbprint, createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose'
import { buildTestApp, login, USERS } from '../helper.js'

function rsaKeyFile (): { path: string, publicPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-rs256-'))
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const path = join(dir, 'jwt-private.pem')
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }))
  return { path, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
}

t.test('RS256: tokens verify against the published JWKS, and work end to end', async (t) => {
  const key = rsaKeyFile()
  const app = await buildTestApp(t, { tokens: { algorithm: 'RS256' } }, { env: { JWT_PRIVATE_KEY_FILE: key.path, JWT_SECRET: undefined } })
  const token = await login(app, 'author')
  const header = decodeProtectedHeader(token)
  t.equal(header.alg, 'RS256')

  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /application\/jwk-set\+json/)
  const jwks = res.json() as JSONWebKeySet
  t.equal(jwks.keys.length, 1)
  const [jwk] = jwks.keys
  t.equal(jwk!.kid, header.kid)
  t.equal(jwk!.kid, await calculateJwkThumbprint({ kty: jwk!.kty, n: jwk!.n, e: jwk!.e }), 'kid is the RFC 7638 thumbprint')
  t.notOk('d' in jwk!, 'no private part is published')
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'wp-auth-gateway', audience: 'wordpress', typ: 'at+jwt' })
  t.equal(payload.sub, String(USERS.author.id))

  const me = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${token}` } })
  t.equal(me.json().id, USERS.author.id)

  // Algorithm confusion: HS256 "signed" with the public key, which anyone can fetch.
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid: header.kid })}.${b64({ iss: 'wp-auth-gateway', aud: 'wordpress', sub: '1', jti: 'x', iat: now, nbf: now, exp: now + 600, roles: ['administrator'], login: 'admin', email: 'a' })}`
  for (const secret of [key.publicPem, JSON.stringify(jwk)]) {
    const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
    const bad = await app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${forged}` } })
    t.equal(bad.statusCode, 401)
    t.equal(bad.json().code, 'GW_ERR_TOKEN_INVALID')
  }
})

t.test('HS256: no shared secret is ever published', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.same(res.json(), { keys: [] })
})
