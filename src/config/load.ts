import { readFileSync, existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { createPrivateKey, createPublicKey, hkdfSync } from 'node:crypto'
import { parse as parseYaml } from 'yaml'
import { Value } from '@sinclair/typebox/value'
import { DEFAULT_METHODS, FileConfig, Rule, type Config, type EnvConfig } from './schema.js'
import { parseTopology } from '../store/redis/topology.js'
import { checkProviders, withProviderDefaults } from './providers.js'
import { readProviderSecrets } from './providers-opaque.js'
import { readTracing } from './tracing.js'

export const DEFAULT_CONFIG_PATH = 'config/gateway.yaml'
const MIN_SECRET_BYTES = 32

/** Every problem found in the configuration, reported at once (oauth2-proxy pkg/validation). */
export class ConfigError extends Error {
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv
  /** Parsed file contents; when absent the file at GATEWAY_CONFIG (or the default path) is read. */
  file?: unknown
}

export function loadConfig (opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env
  const problems: string[] = []
  const raw = opts.file !== undefined ? opts.file : readConfigFile(env, problems)
  const file = validateFile(raw ?? {}, problems)
  const envConfig = readEnv(env, file, problems)
  const providerSecrets = file === undefined ? {} : readProviderSecrets(file.providers, (name) => secretValue(env, name, problems), (path, name) => readPem(path, name, problems), problems)
  if (problems.length > 0 || file === undefined || envConfig === undefined) throw new ConfigError(problems)
  return { ...file, env: { ...envConfig, providerSecrets } }
}

function readConfigFile (env: NodeJS.ProcessEnv, problems: string[]): unknown {
  const path = env.GATEWAY_CONFIG ?? DEFAULT_CONFIG_PATH
  if (!existsSync(path)) {
    // Running on defaults is fine; a file the operator named but we cannot find is not.
    if (env.GATEWAY_CONFIG !== undefined) problems.push(`GATEWAY_CONFIG: file ${path} does not exist`)
    return {}
  }
  try {
    return parseYaml(readFileSync(path, 'utf8')) ?? {}
  } catch (err) {
    // The yaml library ends its first line with " at line N, column M:" and a code frame below.
    const e = err as Error & { linePos?: Array<{ line: number, col: number }> }
    const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').replace(/:$/, '')
    const where = e.linePos?.[0] === undefined ? '' : ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}`
    problems.push(`${path}: not valid YAML${where}: ${what}`)
    return {}
  }
}

function validateFile (raw: unknown, problems: string[]): FileConfig | undefined {
  // A section left empty in YAML (`admin:` with only comments under it) reads as null: treat it as absent.
  const cleaned = raw !== null && typeof raw === 'object' && !Array.isArray(raw)
    ? Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== null))
    : raw
  const withDefaults = Value.Default(FileConfig, structuredClone(cleaned))
  if (withDefaults !== null && typeof withDefaults === 'object' && 'providers' in withDefaults) withDefaults.providers = withProviderDefaults(withDefaults.providers)
  const before = problems.length
  for (const e of Value.Errors(FileConfig, withDefaults)) {
    const key = e.path === '' ? '(top level)' : e.path.slice(1).replaceAll('/', '.')
    const known = Object.keys((e.schema as { properties?: object }).properties ?? {})
    const extra = e.message === 'Unexpected property' && known.length > 0 ? ` (known keys: ${known.join(', ')})` : ''
    problems.push(`config ${key}: ${describe(e.schema as Parameters<typeof describe>[0], e.message)}${extra}`)
  }
  // What the schema cannot say is checked too, on whatever parts are well formed, so every problem shows at once.
  checkMeaning(withDefaults, problems)
  return problems.length === before ? withDefaults as FileConfig : undefined
}

/** What the schema cannot say: combinations that make no sense, each named. Reads only the parts that are well formed. */
function checkMeaning (file: unknown, problems: string[]): void {
  const f = file as { policy?: { rules?: unknown }, cors?: unknown }
  const rules = Array.isArray(f?.policy?.rules) ? f.policy.rules : []
  rules.forEach((rule: unknown, i) => {
    if (!Value.Check(Rule, rule)) return
    const conditions = (['roles', 'notRoles', 'scopes', 'authenticators'] as const).filter((k) => rule[k] !== undefined)
    if (conditions.length > 0 && rule.access !== 'authenticated') {
      problems.push(`config policy.rules.${i} (${rule.route}): ${conditions.join(', ')} only apply to access: authenticated`)
    }
    if (rule.rateLimit !== undefined && rule.access === 'deny') problems.push(`config policy.rules.${i} (${rule.route}): rateLimit does not apply to access: deny`)
    const overlap = rule.roles?.filter((r) => rule.notRoles?.includes(r)) ?? []
    if (overlap.length > 0) problems.push(`config policy.rules.${i} (${rule.route}): ${overlap.join(', ')} is both in roles and notRoles`)
  })
  const given = (f as { auth?: { methods?: unknown } })?.auth?.methods
  const methods: unknown[] | undefined = given === undefined ? [...DEFAULT_METHODS] : Array.isArray(given) ? given : undefined
  if (methods !== undefined) {
    rules.forEach((rule: unknown, i) => {
      if (!Value.Check(Rule, rule)) return
      const off = rule.authenticators?.filter((m) => !methods.includes(m)) ?? []
      if (off.length > 0) problems.push(`config policy.rules.${i} (${rule.route}): authenticators ${off.join(', ')} are not enabled in auth.methods`)
    })
  }
  checkAccounts((f as { accounts?: unknown })?.accounts, problems)
  checkProviders((f as { providers?: unknown })?.providers, (f as { tokens?: { issuer?: unknown } })?.tokens?.issuer, methods, problems)
  if (Value.Check(FileConfig.properties.cors, f?.cors) && f.cors.credentials && f.cors.origins.includes('*')) {
    problems.push('config cors.credentials: browsers refuse credentials with origin *; list the origins instead')
  }
}

/** Schemes a reset link may never use: the link is opened by whoever reads the mail. */
const UNSAFE_SCHEMES = new Set(['javascript', 'data', 'vbscript', 'file'])

function checkAccounts (accounts: unknown, problems: string[]): void {
  if (!Value.Check(FileConfig.properties.accounts, accounts)) return
  const { resetUrl, register } = accounts
  if (resetUrl !== undefined) {
    const scheme = resetUrl.slice(0, resetUrl.indexOf(':')).toLowerCase()
    if (!resetUrl.includes('{key}') || !resetUrl.includes('{login}')) problems.push('config accounts.resetUrl: must contain {key} and {login}, e.g. myapp://reset?key={key}&login={login}')
    if (UNSAFE_SCHEMES.has(scheme)) problems.push(`config accounts.resetUrl: the scheme ${scheme}: is not allowed; use https: or the app's own scheme`)
    const other = resetUrl.match(/\{[^}]*\}/g)?.filter((p) => p !== '{key}' && p !== '{login}') ?? []
    if (other.length > 0) problems.push(`config accounts.resetUrl: ${other.join(', ')} is not a placeholder; only {key} and {login} are`)
  }
  if (register.login && !register.revealTaken) problems.push('config accounts.register.login: a token pair on registration tells a new account from a taken one; it needs revealTaken: true')
}

/** TypeBox says "Expected union value"; an operator needs the allowed values. */
function describe (schema: { anyOf?: Array<{ const?: unknown }>, pattern?: string }, message: string): string {
  const literals = schema.anyOf?.map((s) => s.const).filter((c) => c !== undefined)
  if (literals !== undefined && literals.length > 0) return `must be one of ${literals.join(', ')}`
  return message
}

function readEnv (env: NodeJS.ProcessEnv, file: FileConfig | undefined, problems: string[]): EnvConfig | undefined {
  const port = Number(env.PORT ?? 8080)
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT: "${env.PORT}" is not a port number (0-65535)`)

  let wordpressUrl: URL | undefined
  if (env.WORDPRESS_URL === undefined || env.WORDPRESS_URL === '') {
    problems.push('WORDPRESS_URL: not set; set it to the address the gateway reaches WordPress at, e.g. http://wordpress')
  } else {
    try {
      wordpressUrl = new URL(env.WORDPRESS_URL)
      if (wordpressUrl.protocol !== 'http:' && wordpressUrl.protocol !== 'https:') throw new Error('protocol')
    } catch {
      problems.push(`WORDPRESS_URL: "${env.WORDPRESS_URL}" is not an http(s) URL`)
    }
  }

  const redis = parseTopology({
    url: env.REDIS_URL === '' ? undefined : env.REDIS_URL,
    clusterNodes: env.REDIS_CLUSTER_NODES === '' ? undefined : env.REDIS_CLUSTER_NODES,
    password: secretValue(env, 'REDIS_PASSWORD', problems),
    sentinelPassword: secretValue(env, 'REDIS_SENTINEL_PASSWORD', problems),
    ca: env.REDIS_CA_FILE === undefined || env.REDIS_CA_FILE === '' ? undefined : readPem(env.REDIS_CA_FILE, 'REDIS_CA_FILE', problems)
  }, problems)

  const workers = readWorkers(env, redis !== undefined, problems)

  const bridgeSecret = secret(env, 'BRIDGE_SECRET', 'the secret shared with the WordPress bridge plugin', problems)
  const ownHashSecret = env.HASH_SECRET !== undefined || env.HASH_SECRET_FILE !== undefined
    ? secret(env, 'HASH_SECRET', 'the key of the hashes under which API keys and client secrets are stored', problems)
    : undefined
  const jwt = readSigningKeys(env, file, problems)
  if (bridgeSecret !== undefined && jwt.jwtSecret !== undefined && bridgeSecret.equals(jwt.jwtSecret)) {
    problems.push('BRIDGE_SECRET and JWT_SECRET are the same; use two different random values')
  }

  const previous = readPreviousKeys(env, problems)
  const tracing = readTracing(env, file?.tracing.endpoint, problems)

  if (problems.length > 0 || wordpressUrl === undefined || bridgeSecret === undefined) return undefined
  // Derived, when not set: rotating BRIDGE_SECRET then invalidates stored API keys and client secrets (README, "Configuration").
  const hashSecret = ownHashSecret ?? Buffer.from(hkdfSync('sha256', bridgeSecret, Buffer.alloc(0), 'wp-auth-gateway hash secret', 32))
  return { port, host: env.HOST ?? '0.0.0.0', workers, wordpressUrl, redis, bridgeSecret, hashSecret, ...jwt, ...previous, providerSecrets: {}, tracing }
}

/**
 * WORKERS: processes on one port (README, "Every core"). Default: the cores
 * this process may use, with Redis; one without, because the in-process store
 * is each process's own (sessions made by one worker unknown to the next).
 */
function readWorkers (env: NodeJS.ProcessEnv, shared: boolean, problems: string[]): number {
  const given = env.WORKERS === undefined || env.WORKERS === '' ? undefined : env.WORKERS
  if (given === undefined) return shared ? availableParallelism() : 1
  const n = /^[1-9][0-9]{0,2}$/.test(given) ? Number(given) : NaN
  if (!(n <= 256)) {
    problems.push(`WORKERS: "${given}" is not a number of processes (1-256)`)
    return 1
  }
  if (n > 1 && !shared) problems.push(`WORKERS: ${n} processes need a shared store; set REDIS_URL (or REDIS_CLUSTER_NODES), or WORKERS=1`)
  return n
}

/** Retired keys (comma-separated) that still verify tokens signed before a rotation. */
function readPreviousKeys (env: NodeJS.ProcessEnv, problems: string[]): Pick<EnvConfig, 'previousSecrets' | 'previousPublicKeyPems'> {
  const list = (name: string) => (env[name] ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '')
  const previousSecrets = list('JWT_PREVIOUS_SECRETS').flatMap((value, i) => {
    const s = secret({ [`JWT_PREVIOUS_SECRETS[${i}]`]: value }, `JWT_PREVIOUS_SECRETS[${i}]`, 'a former JWT_SECRET', problems)
    return s === undefined ? [] : [s]
  })
  const previousPublicKeyPems = list('JWT_PREVIOUS_PUBLIC_KEY_FILES').flatMap((path) => {
    const pem = readPem(path, 'JWT_PREVIOUS_PUBLIC_KEY_FILES', problems)
    if (pem === undefined) return []
    try {
      if (createPublicKey(pem).asymmetricKeyType !== 'rsa') throw new Error('not an RSA key')
      return [pem]
    } catch (err) {
      problems.push(`JWT_PREVIOUS_PUBLIC_KEY_FILES: ${path} is not a PEM RSA public key (${(err as Error).message})`)
      return []
    }
  })
  return { previousSecrets, previousPublicKeyPems }
}

function readSigningKeys (env: NodeJS.ProcessEnv, file: FileConfig | undefined, problems: string[]): Pick<EnvConfig, 'jwtSecret' | 'jwtPrivateKeyPem' | 'jwtPublicKeyPem'> {
  const algorithm = file?.tokens.algorithm ?? 'HS256'
  if (algorithm === 'HS256') {
    return { jwtSecret: secret(env, 'JWT_SECRET', 'the HS256 signing secret for access tokens', problems), jwtPrivateKeyPem: undefined, jwtPublicKeyPem: undefined }
  }
  const privPath = env.JWT_PRIVATE_KEY_FILE
  if (privPath === undefined || privPath === '') {
    problems.push('JWT_PRIVATE_KEY_FILE: not set; tokens.algorithm is RS256, so point it at a PEM RSA private key (npm run keys makes one)')
    return { jwtSecret: undefined, jwtPrivateKeyPem: undefined, jwtPublicKeyPem: undefined }
  }
  const priv = readPem(privPath, 'JWT_PRIVATE_KEY_FILE', problems)
  const pub = env.JWT_PUBLIC_KEY_FILE ? readPem(env.JWT_PUBLIC_KEY_FILE, 'JWT_PUBLIC_KEY_FILE', problems) : undefined
  if (priv !== undefined) {
    try {
      const key = createPrivateKey(priv)
      const bits = key.asymmetricKeyDetails?.modulusLength ?? 0
      if (key.asymmetricKeyType !== 'rsa') problems.push(`JWT_PRIVATE_KEY_FILE: ${privPath} is a ${key.asymmetricKeyType} key; RS256 needs an RSA key`)
      else if (bits < 2048) problems.push(`JWT_PRIVATE_KEY_FILE: ${privPath} is a ${bits}-bit RSA key; use at least 2048 bits`)
      if (pub !== undefined && createPublicKey(pub).export({ format: 'jwk' }).n !== createPublicKey(key).export({ format: 'jwk' }).n) {
        problems.push('JWT_PUBLIC_KEY_FILE: does not match JWT_PRIVATE_KEY_FILE')
      }
    } catch (err) {
      problems.push(`JWT_PRIVATE_KEY_FILE: ${privPath} is not a PEM private key (${(err as Error).message})`)
    }
  }
  return { jwtSecret: undefined, jwtPrivateKeyPem: priv, jwtPublicKeyPem: pub }
}

function readPem (path: string, name: string, problems: string[]): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    problems.push(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

/**
 * A secret from NAME, or from the file NAME_FILE names (Docker secrets: the
 * value then never sits in the environment, where child processes and
 * crash reports see it). One trailing newline of a file is not part of it.
 */
export function secretValue (env: NodeJS.ProcessEnv, name: string, problems: string[]): string | undefined {
  const value = env[name]
  const file = env[`${name}_FILE`]
  if (file === undefined || file === '') return value === '' ? undefined : value
  if (value !== undefined && value !== '') {
    problems.push(`${name} and ${name}_FILE are both set; keep one`)
    return undefined
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '')
  } catch (err) {
    problems.push(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

function secret (env: NodeJS.ProcessEnv, name: string, what: string, problems: string[]): Buffer | undefined {
  const before = problems.length
  const value = secretValue(env, name, problems)
  if (problems.length > before) return undefined
  if (value === undefined || value === '') {
    problems.push(`${name}: not set; set it (or ${name}_FILE) to ${what}, at least ${MIN_SECRET_BYTES} random bytes (e.g. openssl rand -base64 48)`)
    return undefined
  }
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length < MIN_SECRET_BYTES) {
    problems.push(`${name}: only ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes (e.g. openssl rand -base64 48)`)
    return undefined
  }
  if (new Set(bytes).size < 8) {
    problems.push(`${name}: too little variety to be random; generate one with openssl rand -base64 48`)
    return undefined
  }
  return bytes
}

/**
 * The problems of a config file alone, every one of them, without the
 * environment's (`wp-auth-gateway config check`, which runs where the
 * gateway's secrets are not).
 */
export function checkConfigFile (path: string): string[] {
  const problems: string[] = []
  const raw = readConfigFile({ GATEWAY_CONFIG: path }, problems)
  validateFile(raw ?? {}, problems)
  return problems
}
