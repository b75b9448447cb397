import t from 'tap'
import { createHmac, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedHeader } from 'jose'
import { buildTestApp, login } from '../helper.js'

// Rotating signing keys without logging anyone out: the new key signs, the
// old one still verifies until the tokens it signed have expired.

const K1 = 'first-signing-secret-0123456789abcdefghijk'
const K2 = 'second-signing-secret-0123456789abcdefghij'
const me = (app: Awaited<ReturnType<typeof buildTestApp>>, token: string) =>
  app.inject({ method: 'GET', url: '/wp-json/api/v1/token-validate', headers: { authorization: `Bearer ${token}` } })

t.test('HS256: rotate JWT_SECRET, keeping the old one in JWT_PREVIOUS_SECRETS', async (t) => {
  const before = await buildTestApp(t, {}, { env: { JWT_SECRET: K1 } })
  const during = await buildTestApp(t, {}, { env: { JWT_SECRET: K2, JWT_PREVIOUS_SECRETS: K1 } })
  const after = await buildTestApp(t, {}, { env: { JWT_SECRET: K2 } })
  const old = await login(before, 'editor')
  const fresh = await login(during, 'editor')
  t.not(decodeProtectedHeader(old).kid, decodeProtectedHeader(fresh).kid, 'each key has its own kid')
  t.equal((await me(during, old)).statusCode, 200, 'tokens signed with the old key still work during the rotation')
  t.equal((await me(during, fresh)).statusCode, 200)
  t.equal((await me(after, fresh)).statusCode, 200, 'new tokens work once the old key is dropped')
  const dropped = await me(after, old)
  t.equal(dropped.statusCode, 401, 'old tokens do not, once it is dropped')
  t.equal(dropped.json().code, 'GW_ERR_TOKEN_INVALID')
})

t.test('RS256: the previous public key verifies and is published beside the new one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-rotate-'))
  const keyFiles = (name: string) => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
    writeFileSync(join(dir, `${name}.pem`), privateKey.export({ type: 'pkcs8', format: 'pem' }))
    writeFileSync(join(dir, `${name}.pub.pem`), publicKey.export({ type: 'spki', format: 'pem' }))
    return { priv: join(dir, `${name}.pem`), pub: join(dir, `${name}.pub.pem`), pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() }
  }
  const oldKey = keyFiles('old')
  const newKey = keyFiles('new')
  const rs = { tokens: { algorithm: 'RS256' } }
  const before = await buildTestApp(t, rs, { env: { JWT_SECRET: undefined, JWT_PRIVATE_KEY_FILE: oldKey.priv } })
  const during = await buildTestApp(t, rs, { env: { JWT_SECRET: K1, JWT_PRIVATE_KEY_FILE: newKey.priv, JWT_PREVIOUS_PUBLIC_KEY_FILES: oldKey.pub, JWT_PREVIOUS_SECRETS: K2 } })
  const old = await login(before, 'author')
  t.equal((await me(during, old)).statusCode, 200, 'a token signed with the old key verifies')
  const jwks = (await during.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json() as { keys: Array<{ kid: string }> }
  t.equal(jwks.keys.length, 2, 'both public keys are published (the retired HS256 secret is not)')
  t.ok(jwks.keys.some((k) => k.kid === decodeProtectedHeader(old).kid))

  // With an HS256 secret and RSA keys in one keyring, a token "signed" with a
  // public RSA key as HMAC secret must still fail: each kid only with its own algorithm.
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  for (const kid of jwks.keys.map((k) => k.kid)) {
    const input = `${b64({ alg: 'HS256', typ: 'at+jwt', kid })}.${b64({ iss: 'wp-auth-gateway', aud: 'wordpress', sub: '1', sid: 's', jti: 'j', iat: now, nbf: now, exp: now + 60, roles: ['administrator'], login: 'admin', email: 'a' })}`
    for (const secret of [oldKey.pem, newKey.pem]) {
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
      t.equal((await me(during, forged)).json().code, 'GW_ERR_TOKEN_INVALID', `HS256 with an RSA public key under kid ${kid.slice(0, 8)}`)
    }
  }
})
