import t from 'tap'
import { SignJWT, base64url } from 'jose'
import { loadConfig } from '../../src/config/load.js'
import type { Providers } from '../../src/config/providers.js'
import { ProviderVerifier } from '../../src/providers/verify.js'
import { provisionRequest } from '../../src/providers/claims.js'
import { signingKey, startKeyServer, startOidcProvider } from '../fixtures/identity-providers.js'

// Verification of provider tokens (issue 12 §2, §5) against providers run
// locally over real HTTP: what is accepted, and every way a token is refused.

const env = { WORDPRESS_URL: 'http://127.0.0.1:9', BRIDGE_SECRET: 'verify-test-bridge-secret-0123456789abcdef', JWT_SECRET: 'verify-test-jwt-secret-abcdefghijklmnopqrstuv' }
const providersOf = (providers: Record<string, unknown>): Providers => loadConfig({ env, file: { auth: { methods: ['jwt', 'oidc'] }, providers } }).providers
const now = () => Math.floor(Date.now() / 1000)

async function code (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'accepted'
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
}

t.test('oidc-provider: JWT access tokens through discovery are verified; another audience is refused', async (t) => {
  const op = await startOidcProvider(t)
  const verifier = new ProviderVerifier(providersOf({ op: { issuer: op.issuer, discovery: true, audiences: ['wordpress'], typ: 'at+jwt' } }))
  const token = await op.accessToken()
  const provider = verifier.providerOf(token)
  t.equal(provider?.name, 'op', 'the token\'s iss picks the provider')
  const { claims } = await verifier.verify(token, provider!)
  t.equal(claims.iss, op.issuer)
  t.equal(claims.sub, 'app', 'a client-credentials token\'s subject is the client')

  const other = new ProviderVerifier(providersOf({ op: { issuer: op.issuer, discovery: true, audiences: ['another-api'] } }))
  t.equal(await code(other.verify(token, other.providerOf(token)!)), 'GW_ERR_TOKEN_INVALID', 'wrong audience')
})

t.test('a token of an issuer not configured is not the verifier\'s: no provider, no verification', async (t) => {
  const ks = await startKeyServer(t)
  const verifier = new ProviderVerifier(providersOf({ ks: { issuer: ks.url, jwksUri: ks.jwksUri, audiences: ['wp'] } }))
  t.equal(verifier.providerOf(await ks.sign({ iss: 'https://evil.example', aud: 'wp', sub: 'x', iat: now(), exp: now() + 60 })), undefined)
  t.equal(verifier.providerOf('not.a.jwt'), undefined)
  t.equal(verifier.providerOf('wpgk_abc_def'), undefined)
  t.equal(ks.fetches, 0, 'nothing was fetched for tokens that are not a provider\'s')
})

t.test('Firebase, Cognito and Azure AD shaped tokens, with their claim layouts', async (t) => {
  const ks = await startKeyServer(t)
  const firebaseIss = `${ks.url}/firebase-project`
  const cognitoIss = `${ks.url}/eu-west-1_Pool`
  const azureIss = `${ks.url}/tenant-id/v2.0`
  const verifier = new ProviderVerifier(providersOf({
    firebase: { issuer: firebaseIss, jwksUri: ks.jwksUri, audiences: ['firebase-project'], claims: { subject: 'user_id' } },
    cognito: { issuer: cognitoIss, jwksUri: ks.jwksUri, audiences: ['app-client-id'], requireClaims: { token_use: 'id' }, roles: { claim: 'cognito:groups', map: { editors: 'editor' } } },
    azure: { issuer: azureIss, jwksUri: ks.jwksUri, audiences: ['api://wp'], requireClaims: { tid: 'tenant-id' }, claims: { subject: 'oid', email: 'preferred_username' }, roles: { claim: 'roles', map: { 'WP.Admin': 'administrator', 'WP.Author': 'author' } } }
  }))
  const iat = now()
  const firebase = await ks.sign({ iss: firebaseIss, aud: 'firebase-project', auth_time: iat, user_id: 'fb-uid-1', sub: 'fb-uid-1', iat, exp: iat + 3600, email: 'fb@example.test', email_verified: true, firebase: { identities: { email: ['fb@example.test'] }, sign_in_provider: 'password' } })
  const fb = await verifier.verify(firebase, verifier.providerOf(firebase)!)
  t.match(provisionRequest('firebase', fb.provider.config, fb.claims), { provider: 'firebase', subject: 'fb-uid-1', email: 'fb@example.test', emailVerified: true, roles: null })

  const cognitoClaims = { sub: 'c0gn-1to', 'cognito:groups': ['editors', 'admins'], email_verified: 'true', iss: cognitoIss, 'cognito:username': 'jane', aud: 'app-client-id', token_use: 'id', auth_time: iat, iat, exp: iat + 3600, email: 'jane@example.test' }
  const cognito = await ks.sign(cognitoClaims)
  const cg = await verifier.verify(cognito, verifier.providerOf(cognito)!)
  t.match(provisionRequest('cognito', cg.provider.config, cg.claims), { subject: 'c0gn-1to', emailVerified: true, roles: ['editor'] }, 'only mapped groups grant roles; "admins" grants nothing')
  const access = await ks.sign({ ...cognitoClaims, token_use: 'access' })
  t.equal(await code(verifier.verify(access, verifier.providerOf(access)!)), 'GW_ERR_TOKEN_INVALID', 'Cognito: an access token where id tokens are required')

  const azureClaims = { aud: 'api://wp', iss: azureIss, iat, nbf: iat, exp: iat + 3600, name: 'Ada', oid: '00000000-0000-0000-0000-00000000ada0', preferred_username: 'ada@contoso.test', roles: ['WP.Author'], sub: 'pairwise-sub', tid: 'tenant-id', ver: '2.0' }
  const azure = await ks.sign(azureClaims)
  const az = await verifier.verify(azure, verifier.providerOf(azure)!)
  t.match(provisionRequest('azure', az.provider.config, az.claims), { subject: '00000000-0000-0000-0000-00000000ada0', email: 'ada@contoso.test', emailVerified: false, displayName: 'Ada', roles: ['author'] })
  const otherTenant = await ks.sign({ ...azureClaims, tid: 'other-tenant' })
  t.equal(await code(verifier.verify(otherTenant, verifier.providerOf(otherTenant)!)), 'GW_ERR_TOKEN_INVALID', 'Azure AD: another tenant')
})

t.test('refused: wrong issuer or audience, expired, not yet valid, alg none, HS256 with the public key, unknown kid, unpinned alg', async (t) => {
  const ks = await startKeyServer(t)
  const verifier = new ProviderVerifier(providersOf({ ks: { issuer: ks.url, jwksUri: ks.jwksUri, audiences: ['wp'], clockToleranceSeconds: 5 } }))
  const provider = verifier.providerOf(await ks.sign({ iss: ks.url }))!
  const good = { iss: ks.url, aud: 'wp', sub: 'u1', iat: now(), exp: now() + 600 }
  t.equal(await code(verifier.verify(await ks.sign(good), provider)), 'accepted', 'the well-formed token passes (so each refusal below is for its own reason)')
  t.equal(await code(verifier.verify(await ks.sign({ ...good, aud: 'other' }), provider)), 'GW_ERR_TOKEN_INVALID', 'wrong audience')
  t.equal(await code(verifier.verify(await ks.sign({ ...good, iss: `${ks.url}/other` }), provider)), 'GW_ERR_TOKEN_INVALID', 'wrong issuer')
  t.equal(await code(verifier.verify(await ks.sign({ ...good, iat: now() - 700, exp: now() - 60 }), provider)), 'GW_ERR_TOKEN_EXPIRED', 'expired past the tolerance')
  t.equal(await code(verifier.verify(await ks.sign({ ...good, nbf: now() + 120 }), provider)), 'GW_ERR_TOKEN_INVALID', 'not yet valid')
  t.equal(await code(verifier.verify(await ks.sign({ ...good, exp: undefined }), provider)), 'GW_ERR_TOKEN_INVALID', 'no exp')

  const enc = (o: object) => base64url.encode(JSON.stringify(o))
  t.equal(await code(verifier.verify(`${enc({ alg: 'none', typ: 'JWT' })}.${enc(good)}.`, provider)), 'GW_ERR_TOKEN_INVALID', 'alg none')
  // The classic confusion: the public key (as the JWKS publishes it) used as an HMAC secret.
  const publicAsSecret = new TextEncoder().encode(JSON.stringify(ks.published[0]!.jwk))
  const hs = await new SignJWT(good).setProtectedHeader({ alg: 'HS256', kid: 'key-1' }).sign(publicAsSecret)
  t.equal(await code(verifier.verify(hs, provider)), 'GW_ERR_TOKEN_INVALID', 'HS256 signed with the public key')

  const stranger = await signingKey('key-1')
  t.equal(await code(verifier.verify(await ks.sign(good, stranger), provider)), 'GW_ERR_TOKEN_INVALID', 'the right kid, another key: signature fails')
  t.equal(await code(verifier.verify(await ks.sign(good, await signingKey('unknown')), provider)), 'GW_ERR_TOKEN_INVALID', 'a kid not in the JWKS')
  const es = await signingKey('key-es', 'ES256')
  ks.published.push(es)
  t.equal(await code(verifier.verify(await ks.sign(good, es), provider)), 'GW_ERR_TOKEN_INVALID', 'ES256 is published but the provider pins RS256')
})

t.test('a JWKS that rotates: a new kid is fetched and accepted; a removed key is refused once the cache ends', async (t) => {
  const ks = await startKeyServer(t)
  const verifier = new ProviderVerifier(providersOf({ ks: { issuer: ks.url, jwksUri: ks.jwksUri, audiences: ['wp'], jwks: { cooldownSeconds: 0, maxAgeSeconds: 1 } } }))
  const provider = verifier.providerOf(await ks.sign({ iss: ks.url }))!
  const claims = () => ({ iss: ks.url, aud: 'wp', sub: 'u1', iat: now(), exp: now() + 600 })
  const old = ks.published[0]!
  t.equal(await code(verifier.verify(await ks.sign(claims()), provider)), 'accepted')
  t.equal(ks.fetches, 1)
  t.equal(await code(verifier.verify(await ks.sign(claims()), provider)), 'accepted')
  t.equal(ks.fetches, 1, 'the key set is cached: a second token costs no fetch')
  const next = await signingKey('key-2')
  ks.published = [next]
  t.equal(await code(verifier.verify(await ks.sign(claims(), next), provider)), 'accepted', 'the new kid, after a refetch')
  t.equal(ks.fetches, 2)
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal(await code(verifier.verify(await ks.sign(claims(), old), provider)), 'GW_ERR_TOKEN_INVALID', 'the removed key, after the cache ended')
})

t.test('a JWKS that is down: 503 GW_ERR_PROVIDER_UNAVAILABLE, and the provider is tried again later', async (t) => {
  const ks = await startKeyServer(t)
  ks.up = false
  const verifier = new ProviderVerifier(providersOf({
    direct: { issuer: ks.url, jwksUri: ks.jwksUri, audiences: ['wp'], jwks: { timeoutMs: 500 } },
    discovered: { issuer: `${ks.url}/d`, discovery: true, audiences: ['wp'], jwks: { timeoutMs: 500, cooldownSeconds: 0 } }
  }))
  const direct = await ks.sign({ iss: ks.url, aud: 'wp', sub: 'u1', iat: now(), exp: now() + 600 })
  const discovered = await ks.sign({ iss: `${ks.url}/d`, aud: 'wp', sub: 'u1', iat: now(), exp: now() + 600 })
  t.equal(await code(verifier.verify(direct, verifier.providerOf(direct)!)), 'GW_ERR_PROVIDER_UNAVAILABLE', 'jwksUri down')
  t.equal(await code(verifier.verify(discovered, verifier.providerOf(discovered)!)), 'GW_ERR_PROVIDER_UNAVAILABLE', 'discovery down')
  ks.up = true
  t.equal(await code(verifier.verify(discovered, verifier.providerOf(discovered)!)), 'accepted', 'back up: discovered and verified')
})
