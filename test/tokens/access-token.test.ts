import t from 'tap'
import { createHmac, createSecretKey, randomBytes } from 'node:crypto'
import { AccessTokens } from '../../src/tokens/access-token.js'
import { parseJsonObject } from '../../src/tokens/jws-verify.js'
import type { Keyring, SigningKey } from '../../src/tokens/keys.js'

// The access tokens' verdicts, remembered: a refused token is refused again
// from memory, never a valid one, and the memory is bounded.

const SECRET = 'access-token-test-secret-0123456789abcdefghijklmnop'
const key = createSecretKey(Buffer.from(SECRET))
const signer: SigningKey = { kid: 'k1', alg: 'HS256', signWith: key, verifyWith: key, publicJwk: undefined }
const keyring: Keyring = { signer, verifiers: new Map([['k1', signer]]) }
const settings = { issuer: 'wp-auth-gateway', audience: 'wordpress', ttlSeconds: 3600, clockToleranceSeconds: 5 }
const user = { id: 2, login: 'editor', email: 'editor@example.test', display_name: 'editor', roles: ['editor'] }
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url')
const now = () => Math.floor(Date.now() / 1000)
const claims = (over: object = {}) => ({ iss: 'wp-auth-gateway', aud: 'wordpress', sub: '2', jti: 'j1', sid: 's1', login: 'editor', email: 'e@x', roles: ['editor'], iat: now(), nbf: now(), exp: now() + 600, ...over })
function signed (payload: object, header: object = { alg: 'HS256', typ: 'at+jwt', kid: 'k1' }): string {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac('sha256', SECRET).update(input).digest('base64url')}`
}
const withSignature = (token: string, signature: string) => `${token.slice(0, token.lastIndexOf('.') + 1)}${signature}`
const code = (fn: () => unknown) => {
  try { fn() } catch (err) { return (err as { code?: string }).code }
  return 'accepted'
}

t.test('a bad token is refused again from memory; the valid one is still accepted', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const { token } = await tokens.issue(user, 'sid-1')
  const bad = withSignature(token, randomBytes(32).toString('base64url'))
  t.equal(tokens.check(bad), 'invalid')
  t.equal(tokens.remembered.refused, 1, 'the refusal is remembered')
  t.equal(tokens.check(bad), 'invalid', 'refused again')
  t.equal(code(() => tokens.verify(bad)), 'GW_ERR_TOKEN_INVALID', 'verify throws the same error')
  t.equal(tokens.remembered.refused, 1, 'one entry for one token')
  t.equal(code(() => tokens.verify(token)), 'accepted', 'the valid token of the same header and claims passes')
  t.equal(code(() => tokens.verify(token)), 'accepted', 'and again, from memory')
  t.equal(tokens.check(bad), 'invalid', 'the bad one still fails after the good one was remembered')
  t.ok(tokens.isOwn(bad), 'a token with our kid is ours, refused or not')
})

t.test('every refusal keeps its code, first time and from memory', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const cases: Array<[string, string, string]> = [
    ['malformed', 'not-a-jwt', 'GW_ERR_TOKEN_MALFORMED'],
    ['header not JSON', `bm90LWpzb24.${b64(claims())}.c2ln`, 'GW_ERR_TOKEN_MALFORMED'],
    ['wrong signature', withSignature(signed(claims()), randomBytes(32).toString('base64url')), 'GW_ERR_TOKEN_INVALID'],
    ['unknown kid', signed(claims(), { alg: 'HS256', typ: 'at+jwt', kid: 'k2' }), 'GW_ERR_TOKEN_INVALID'],
    ['expired', signed(claims({ iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 })), 'GW_ERR_TOKEN_EXPIRED'],
    ['wrong audience', signed(claims({ aud: 'elsewhere' })), 'GW_ERR_TOKEN_INVALID'],
    ['roles not a list', signed(claims({ roles: 'administrator' })), 'GW_ERR_TOKEN_INVALID']
  ]
  for (const [name, token, expected] of cases) {
    t.equal(code(() => tokens.verify(token)), expected, `${name}: ${expected}`)
    t.equal(code(() => tokens.verify(token)), expected, `${name}: ${expected} again`)
  }
  t.equal(tokens.remembered.refused, cases.length)
})

t.test('a token not valid yet is not remembered as refused: time makes it valid', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const early = signed(claims({ nbf: now() + 600, exp: now() + 3600 }))
  t.equal(code(() => tokens.verify(early)), 'GW_ERR_TOKEN_INVALID')
  t.equal(tokens.check(early), 'early')
  t.equal(tokens.remembered.refused, 0)
  const realNow = Date.now
  Date.now = () => realNow() + 700_000
  t.teardown(() => { Date.now = realNow })
  t.equal(code(() => tokens.verify(early)), 'accepted', 'accepted once its nbf has passed')
})

t.test('a remembered valid token that expires is refused as expired', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const token = signed(claims({ exp: now() + 60 }))
  t.equal(code(() => tokens.verify(token)), 'accepted')
  const realNow = Date.now
  Date.now = () => realNow() + 120_000
  t.teardown(() => { Date.now = realNow })
  t.equal(code(() => tokens.verify(token)), 'GW_ERR_TOKEN_EXPIRED')
  t.equal(code(() => tokens.verify(token)), 'GW_ERR_TOKEN_EXPIRED', 'and again, from memory')
})

t.test('refused tokens are remembered in bounded memory', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const { token } = await tokens.issue(user, 'sid-1')
  for (let i = 0; i < 5000; i++) tokens.check(withSignature(token, randomBytes(32).toString('base64url')))
  t.ok(tokens.remembered.refused <= 4096, `at most 4096 remembered (${tokens.remembered.refused})`)
  t.ok(tokens.remembered.refused > 1000, 'but many are')
  // Long tokens count by their length: a few hundred of 8 KiB fill it.
  const long = new AccessTokens(keyring, settings)
  const padded = signed(claims({ pad: 'x'.repeat(6000) }))
  for (let i = 0; i < 1000; i++) long.check(withSignature(padded, randomBytes(32).toString('base64url')))
  t.ok(long.remembered.refused < 1000, `long tokens are bounded by size (${long.remembered.refused})`)
  t.equal(code(() => tokens.verify(token)), 'accepted', 'the valid token passes throughout')
})

t.test('a foreign token refused by verify (introspection, revocation) is still not ours', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const foreign = signed(claims(), { alg: 'HS256', typ: 'at+jwt', kid: 'someone-else' })
  t.equal(code(() => tokens.verify(foreign)), 'GW_ERR_TOKEN_INVALID')
  t.notOk(tokens.isOwn(foreign), 'another method may still claim it')
  t.notOk(tokens.isOwn(foreign), 'and from memory')
  t.notOk(tokens.isOwn('e30.e30.c2ln'), 'no kid')
})

t.test('parseJsonObject answers garbage without throwing', async (t) => {
  t.same(parseJsonObject(' \n{"a":1}'), { a: 1 }, 'leading JSON whitespace')
  t.equal(parseJsonObject('[1]'), undefined)
  t.equal(parseJsonObject('null'), undefined)
  t.equal(parseJsonObject('{not json'), undefined)
  t.equal(parseJsonObject('\u0000\u00ff garbage'), undefined)
  t.equal(parseJsonObject(''), undefined)
})

t.test('headers\' verdicts are remembered apart, and boundedly', async (t) => {
  const tokens = new AccessTokens(keyring, settings)
  const good = signed(claims())
  const asIdToken = signed(claims(), { alg: 'HS256', typ: 'JWT', kid: 'k1' })
  const withCrit = signed(claims(), { alg: 'HS256', typ: 'at+jwt', kid: 'k1', crit: ['x'] })
  for (let i = 0; i < 2; i++) {
    t.equal(code(() => tokens.verify(asIdToken)), 'GW_ERR_TOKEN_INVALID', 'wrong typ')
    t.equal(code(() => tokens.verify(withCrit)), 'GW_ERR_TOKEN_INVALID', 'crit')
    t.ok(tokens.isOwn(asIdToken), 'ours all the same (our kid)')
    t.equal(code(() => tokens.verify(good)), 'accepted')
  }
  // More distinct headers than are remembered: each still judged on its own.
  for (let i = 0; i < 200; i++) {
    const variant = signed(claims({ jti: `j${i}` }), { alg: 'HS256', typ: 'at+jwt', kid: 'k1', n: i })
    t.equal(code(() => tokens.verify(variant)), 'accepted', `header ${i}`)
    const wrongTyp = signed(claims({ jti: `w${i}` }), { alg: 'HS256', typ: 'JWT', kid: 'k1', n: i })
    t.equal(code(() => tokens.verify(wrongTyp)), 'GW_ERR_TOKEN_INVALID', `wrong typ ${i}`)
  }
})
