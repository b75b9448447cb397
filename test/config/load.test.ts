import t from 'tap'
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { parse } from 'yaml'
import { ConfigError, loadConfig } from '../../src/config/load.js'
import { testEnv } from '../helper.js'

function problems (fn: () => unknown): string[] {
  try {
    fn()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('the example file is valid and is exactly the defaults', async (t) => {
  const example = parse(readFileSync('config/gateway.example.yaml', 'utf8'))
  const fromExample = loadConfig({ env: testEnv(), file: example })
  const defaults = loadConfig({ env: testEnv(), file: {} })
  t.same({ ...fromExample, env: null }, { ...defaults, env: null })
  t.equal(defaults.tokens.accessTokenTtlSeconds, 3600, 'access tokens live 60 minutes by default')
  t.equal(defaults.policy.default, 'authenticated', 'protected unless said otherwise')
})

t.test('every problem is reported at once, each naming what to set', async (t) => {
  const found = problems(() => loadConfig({
    env: { PORT: 'eighty' },
    file: { tokens: { accessTokenTtlSeconds: 5, algorithm: 'HS256' }, policy: { rules: [{ route: 'no-slash', access: 'maybe' }] }, typo: 1 }
  }))
  t.ok(found.length >= 6, found.join('\n'))
  t.match(found.join('\n'), /typo/)
  t.match(found.join('\n'), /tokens\.accessTokenTtlSeconds/)
  t.match(found.join('\n'), /policy\.rules\.0\.route/)
  t.match(found.join('\n'), /PORT: "eighty"/)
  // Rule meanings are checked beside schema errors elsewhere in the same file.
  const mixed = problems(() => loadConfig({
    env: testEnv(),
    file: { tokens: { accessTokenTtlSeconds: 'long' }, policy: { rules: [{ route: '/a*', access: 'public', roles: ['editor'] }, { route: '/b', access: 'nope' }] } }
  }))
  t.match(mixed.join('\n'), /tokens\.accessTokenTtlSeconds/)
  t.match(mixed.join('\n'), /policy\.rules\.0 \(\/a\*\): roles only apply to access: authenticated/)
  t.match(mixed.join('\n'), /policy\.rules\.1\.access: must be one of public, authenticated, deny/)
  // Env problems are reported even when the file is broken too.
  const env = problems(() => loadConfig({ env: {}, file: {} }))
  t.match(env, [/^WORDPRESS_URL: not set/, /^BRIDGE_SECRET: not set; .*openssl rand/, /^JWT_SECRET: not set/])
})

t.test('weak or reused secrets stop the start', async (t) => {
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_SECRET: 'short' }), file: {} })), [/^JWT_SECRET: only 5 bytes; use at least 32/])
  t.match(problems(() => loadConfig({ env: testEnv({ BRIDGE_SECRET: 'a'.repeat(40) }), file: {} })), [/^BRIDGE_SECRET: too little variety/])
  const same = 'the-same-secret-for-both-0123456789abcdef'
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_SECRET: same, BRIDGE_SECRET: same }), file: {} })), [/BRIDGE_SECRET and JWT_SECRET are the same/])
  t.match(problems(() => loadConfig({ env: testEnv({ WORDPRESS_URL: 'ftp://wp' }), file: {} })), [/WORDPRESS_URL: "ftp:\/\/wp" is not an http\(s\) URL/])
  t.match(problems(() => loadConfig({ env: testEnv({ REDIS_URL: 'localhost:6379' }), file: {} })), [/^REDIS_URL: must be redis:\/\/host:port/])
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_PREVIOUS_SECRETS: 'old-secret-that-is-long-enough-0123456789,short' }), file: {} })), [/^JWT_PREVIOUS_SECRETS\[1\]: only 5 bytes/])
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_PREVIOUS_PUBLIC_KEY_FILES: '/nonexistent.pem' }), file: {} })), [/^JWT_PREVIOUS_PUBLIC_KEY_FILES: cannot read \/nonexistent\.pem/])
  t.match(problems(() => loadConfig({ env: testEnv(), file: { admin: { apiTokenHash: 'plain-text-token' } } })), [/^config admin\.apiTokenHash: /])
})

t.test('secrets can come from files (Docker secrets)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-secrets-'))
  const value = 'a-bridge-secret-from-a-file-0123456789abcdef'
  writeFileSync(join(dir, 'bridge'), value + '\n')
  const { BRIDGE_SECRET: _unused, ...env } = testEnv()
  const config = loadConfig({ env: { ...env, BRIDGE_SECRET_FILE: join(dir, 'bridge') }, file: {} })
  t.equal(config.env.bridgeSecret.toString(), value, 'the trailing newline is not part of it')
  t.match(problems(() => loadConfig({ env: testEnv({ BRIDGE_SECRET_FILE: join(dir, 'bridge') }), file: {} })), [/^BRIDGE_SECRET and BRIDGE_SECRET_FILE are both set; keep one/])
  t.match(problems(() => loadConfig({ env: { ...env, BRIDGE_SECRET_FILE: join(dir, 'missing') }, file: {} })), [/^BRIDGE_SECRET_FILE: cannot read .*missing \(ENOENT\)/])
})

t.test('RS256 needs a readable RSA key of at least 2048 bits', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-keys-'))
  const file = { tokens: { algorithm: 'RS256' } }
  t.match(problems(() => loadConfig({ env: testEnv(), file })), [/^JWT_PRIVATE_KEY_FILE: not set/])
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_PRIVATE_KEY_FILE: join(dir, 'missing.pem') }), file })), [/cannot read .*missing\.pem \(ENOENT\)/])
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' })
  writeFileSync(join(dir, 'small.pem'), small)
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_PRIVATE_KEY_FILE: join(dir, 'small.pem') }), file })), [/1024-bit RSA key; use at least 2048/])
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' })
  writeFileSync(join(dir, 'ec.pem'), ec)
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_PRIVATE_KEY_FILE: join(dir, 'ec.pem') }), file })), [/is a ec key; RS256 needs an RSA key/])
  const good = generateKeyPairSync('rsa', { modulusLength: 2048 })
  writeFileSync(join(dir, 'good.pem'), good.privateKey.export({ type: 'pkcs8', format: 'pem' }))
  writeFileSync(join(dir, 'other.pub.pem'), generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }))
  t.match(problems(() => loadConfig({ env: testEnv({ JWT_PRIVATE_KEY_FILE: join(dir, 'good.pem'), JWT_PUBLIC_KEY_FILE: join(dir, 'other.pub.pem') }), file })), [/JWT_PUBLIC_KEY_FILE: does not match/])
  t.equal(loadConfig({ env: testEnv({ JWT_PRIVATE_KEY_FILE: join(dir, 'good.pem') }), file }).tokens.algorithm, 'RS256')
})

t.test('a config file named by GATEWAY_CONFIG must exist and parse', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wpag-config-'))
  t.match(problems(() => loadConfig({ env: testEnv({ GATEWAY_CONFIG: join(dir, 'nope.yaml') }) })), [/^GATEWAY_CONFIG: file .*nope\.yaml does not exist/])
  writeFileSync(join(dir, 'bad.yaml'), 'policy: [unclosed')
  t.match(problems(() => loadConfig({ env: testEnv({ GATEWAY_CONFIG: join(dir, 'bad.yaml') }) })), [/bad\.yaml: not valid YAML/])
  writeFileSync(join(dir, 'nested.yaml'), 'policy:\n  mode: custom\n  rules: - route: /x\n')
  const [line] = problems(() => loadConfig({ env: testEnv({ GATEWAY_CONFIG: join(dir, 'nested.yaml') }) }))
  t.match(line, /nested\.yaml: not valid YAML at line 3, column \d+: \S/, 'the position, then what is wrong')
  t.notMatch(line, /:\s*$/, 'no dangling colon')
  writeFileSync(join(dir, 'ok.yaml'), 'tokens:\n  accessTokenTtlSeconds: 600\n')
  t.equal(loadConfig({ env: testEnv({ GATEWAY_CONFIG: join(dir, 'ok.yaml') }) }).tokens.accessTokenTtlSeconds, 600)
})
