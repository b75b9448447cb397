import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../../src/config/load.js'

// `providers:` (issue 12 §1): what an operator gets wrong is named, all at once.

const env = { WORDPRESS_URL: 'http://127.0.0.1:9', BRIDGE_SECRET: 'config-test-bridge-secret-0123456789abcdef', JWT_SECRET: 'config-test-jwt-secret-abcdefghijklmnopqrstuv' }

function problems (file: unknown): string[] {
  try {
    loadConfig({ env, file })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('a provider gets safe defaults', async (t) => {
  const config = loadConfig({ env, file: { auth: { methods: ['jwt', 'oidc'] }, providers: { google: { issuer: 'https://accounts.google.com', discovery: true, audiences: ['client.apps.googleusercontent.com'] } } } })
  const google = config.providers.google!
  t.same(google.algorithms, ['RS256'])
  t.equal(google.claims.subject, 'sub')
  t.same(google.users, { create: true, linkByEmail: false, updateRoles: false }, 'no linking by email unless asked')
  t.equal(google.roles.default, 'subscriber')
  t.same(google.roles.map, {}, 'no provider role grants anything unless mapped')
  t.same(loadConfig({ env, file: {} }).providers, {}, 'no providers: none trusted')
})

t.test('every provider problem is reported at once, each naming its key', async (t) => {
  const found = problems({
    auth: { methods: ['jwt', 'oidc'] },
    tokens: { issuer: 'https://gw.example' },
    providers: {
      hs: { issuer: 'https://hs.example', jwksUri: 'https://hs.example/jwks', audiences: ['wp'], algorithms: ['HS256'] },
      nokeys: { issuer: 'https://nokeys.example', audiences: ['wp'] },
      twokeys: { issuer: 'https://two.example', discovery: true, jwksUri: 'https://two.example/jwks', audiences: ['wp'] },
      admin: { issuer: 'https://admin.example', discovery: true, audiences: ['wp'], roles: { default: 'administrator' } },
      plain: { issuer: 'http://idp.example', discovery: true, audiences: ['wp'] },
      noaud: { issuer: 'https://noaud.example', discovery: true, audiences: [] },
      mapnoclaim: { issuer: 'https://map.example', discovery: true, audiences: ['wp'], roles: { map: { staff: 'editor' } } },
      self: { issuer: 'https://gw.example', keys: ['-----BEGIN PUBLIC KEY-----x', { kty: 'oct', k: 'c2VjcmV0' }], audiences: ['wp'] }
    }
  })
  const text = found.join('\n')
  t.match(text, /providers\.hs\.algorithms\.0: must be one of RS256, RS384, RS512, PS256, ES256, ES384, EdDSA/, 'HS* is refused by name')
  t.match(text, /providers\.nokeys: no key source/)
  t.match(text, /providers\.twokeys: discovery and jwksUri are both set/)
  t.match(text, /providers\.admin\.roles\.default: administrator is never a default/)
  t.match(text, /providers\.plain\.issuer/, 'plain http only on loopback')
  t.match(text, /providers\.noaud\.audiences/)
  t.match(text, /providers\.mapnoclaim\.roles\.map: set roles\.claim/)
  t.match(text, /providers\.self\.issuer: is the gateway's own tokens\.issuer/)
  t.match(text, /providers\.self\.keys\.0: is not a public key/)
  t.match(text, /providers\.self\.keys\.1: kty oct is not an asymmetric key type/, 'a shared secret is no key for a provider')
})

t.test('oidc and providers go together', async (t) => {
  t.match(problems({ auth: { methods: ['jwt', 'oidc'] } }).join('\n'), /auth\.methods: oidc is enabled but no providers/)
  t.match(problems({ providers: { a: { issuer: 'https://a.example', discovery: true, audiences: ['wp'] } } }).join('\n'), /providers are configured but oidc is not in auth\.methods/)
  t.match(problems({
    auth: { methods: ['jwt', 'oidc'] },
    providers: { a: { issuer: 'https://same.example', discovery: true, audiences: ['wp'] }, b: { issuer: 'https://same.example', discovery: true, audiences: ['x'] } }
  }).join('\n'), /providers\.b\.issuer: the same issuer as providers\.a/)
})

t.test('administrator is granted only by an explicit map entry', async (t) => {
  const config = loadConfig({ env, file: { auth: { methods: ['oidc'] }, providers: { kc: { issuer: 'https://kc.example/realms/main', discovery: true, audiences: ['wp'], roles: { claim: 'realm_access.roles', map: { 'wp-admins': 'administrator' } } } } } })
  t.same(config.providers.kc!.roles.map, { 'wp-admins': 'administrator' })
})

t.test('opaque tokens: every problem at once; the introspection secret comes from the environment or a file, never the YAML', async (t) => {
  const found = problems({
    auth: { methods: ['jwt', 'oidc'] },
    providers: {
      both: { issuer: 'https://both.example', audiences: ['wp'], opaque: { userinfo: 'https://both.example/me', introspection: { url: 'https://both.example/i', clientId: 'gw', clientSecretEnv: 'BOTH_SECRET' }, prefix: 'b1.' } },
      neither: { issuer: 'https://neither.example', audiences: ['wp'], opaque: { prefix: 'n1.' } },
      inline: { issuer: 'https://inline.example', audiences: ['wp'], opaque: { introspection: { url: 'https://inline.example/i', clientId: 'gw', clientSecret: 'in-the-yaml' }, prefix: 'i1.' } },
      nosecret: { issuer: 'https://nosecret.example', audiences: ['wp'], opaque: { introspection: { url: 'https://nosecret.example/i', clientId: 'gw' }, prefix: 's1.' } },
      unset: { issuer: 'https://unset.example', audiences: ['wp'], opaque: { introspection: { url: 'https://unset.example/i', clientId: 'gw', clientSecretEnv: 'UNSET_INTROSPECTION_SECRET' }, prefix: 'u1.' } },
      noprefix: { issuer: 'https://noprefix.example', audiences: ['wp'], opaque: { userinfo: 'https://noprefix.example/me' } },
      overlap: { issuer: 'https://overlap.example', audiences: ['wp'], opaque: { userinfo: 'https://overlap.example/me', prefix: 'u1.x' } },
      own: { issuer: 'https://own.example', audiences: ['wp'], opaque: { userinfo: 'https://own.example/me', prefix: 'wpgk_x' } },
      plain: { issuer: 'https://plain.example', audiences: ['wp'], opaque: { userinfo: 'http://plain.example/me', prefix: 'p1.' } }
    }
  })
  const text = found.join('\n')
  t.match(text, /providers\.both\.opaque: set exactly one of userinfo and introspection/)
  t.match(text, /providers\.neither\.opaque: set exactly one of userinfo and introspection/)
  t.match(text, /providers\.inline\.opaque\.introspection\.clientSecret: Unexpected property/, 'a secret in the YAML is refused')
  t.match(text, /providers\.nosecret\.opaque\.introspection: set exactly one of clientSecretEnv and clientSecretFile/)
  t.match(text, /providers\.noprefix\.opaque\.prefix: required, as more than one provider takes opaque tokens/)
  t.match(text, /providers\.overlap\.opaque\.prefix: overlaps providers\.unset\.opaque\.prefix/)
  t.match(text, /providers\.own\.opaque\.prefix: overlaps wpgk_/)
  t.match(text, /providers\.plain\.opaque\.userinfo/, 'plain http only on loopback')
  t.notMatch(text, /no key source/, 'a provider for opaque tokens only needs no keys')

  const unset = problems({ auth: { methods: ['oidc'] }, providers: { unset: { issuer: 'https://unset.example', audiences: ['wp'], opaque: { introspection: { url: 'https://unset.example/i', clientId: 'gw', clientSecretEnv: 'UNSET_INTROSPECTION_SECRET' } } } } })
  t.match(unset.join('\n'), /UNSET_INTROSPECTION_SECRET: not set/, 'a secret that is named but not there')
})

t.test('opaque tokens get a short cache and a bounded wait by default; the secret is read from where it is named', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-opaque-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'secret'), 'from-a-file\n')
  const file = {
    auth: { methods: ['oidc'] },
    providers: {
      google: { issuer: 'https://accounts.google.com', discovery: true, audiences: ['c.apps.googleusercontent.com'], opaque: { userinfo: 'https://openidconnect.googleapis.com/v1/userinfo', prefix: 'ya29.' } },
      kc: { issuer: 'https://kc.example/realms/main', discovery: true, audiences: ['wp'], opaque: { introspection: { url: 'https://kc.example/i', clientId: 'gw', clientSecretFile: join(dir, 'secret') }, prefix: 'kc.' } },
      okta: { issuer: 'https://okta.example', discovery: true, audiences: ['wp'], opaque: { introspection: { url: 'https://okta.example/i', clientId: 'gw', clientSecretEnv: 'OKTA_SECRET' }, prefix: 'okta.' } }
    }
  }
  const config = loadConfig({ env: { ...env, OKTA_SECRET: 'from-the-env' }, file })
  t.same(config.providers.google!.opaque, { userinfo: 'https://openidconnect.googleapis.com/v1/userinfo', prefix: 'ya29.', cacheSeconds: 60, timeoutMs: 3000 })
  t.same(config.env.providerSecrets, { kc: 'from-a-file', okta: 'from-the-env' })
  t.notMatch(JSON.stringify(config.providers), /from-/, 'no secret in the provider config')
})

t.test('every preset the README shows loads as written, with its placeholders filled in', async (t) => {
  const { readFileSync } = await import('node:fs')
  const { parse } = await import('yaml')
  const readme = readFileSync('README.md', 'utf8')
  const section = readme.slice(readme.indexOf('### Presets'), readme.indexOf('\n## ', readme.indexOf('### Presets')))
  const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!)
  t.ok(blocks.length >= 6, `${blocks.length} presets: Google, Azure AD, Keycloak, Okta, Cognito, Firebase`)
  for (const block of blocks) {
    // Placeholders like <tenant-id> become plain words, as an operator fills them in.
    const filled = block.replace(/<([a-z-]+)>/g, (_m, word: string) => `example-${word}`)
    const providers = parse(`providers:\n${filled}`).providers as Record<string, unknown>
    const name = Object.keys(providers)[0]!
    const secrets = Object.fromEntries([...filled.matchAll(/clientSecretEnv: *([A-Z_]+)/g)].map((m) => [m[1]!, 'a-client-secret-for-the-test-0123456789']))
    try {
      loadConfig({ env: { ...env, ...secrets }, file: { auth: { methods: ['jwt', 'oidc'] }, providers } })
      t.pass(`${name} loads`)
    } catch (err) {
      t.fail(`${name}: ${err instanceof ConfigError ? err.problems.join('; ') : String(err)}`)
    }
  }
})
