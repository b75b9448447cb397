import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CliError, UsageError, type Command, type Parsed } from '../command.js'

// Signing keys for access tokens (README, "Rotating signing keys"), made with
// node:crypto; `npm run keys` runs `keys generate`.

const BITS = { type: 'string', value: 'N', description: 'RSA key size, 2048 to 8192 (default: $JWT_KEY_BITS, else 2048)' } as const

function bits (command: string, args: Parsed): number {
  const given = (args.values.bits as string | undefined) ?? process.env.JWT_KEY_BITS ?? '2048'
  const n = Number(given)
  if (!/^[0-9]+$/.test(given) || n < 2048 || n > 8192) throw new UsageError(`--bits must be a number from 2048 to 8192 (got '${given}')`, command)
  return n
}

/** Writes DIR/jwt-private.pem (PKCS#8, mode 600) and DIR/jwt-public.pem (SPKI); never replaces a file. */
function writePair (dir: string, modulusLength: number): { privateFile: string, publicFile: string } {
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  const privateFile = join(resolve(dir), 'jwt-private.pem')
  const publicFile = join(resolve(dir), 'jwt-public.pem')
  for (const f of [privateFile, publicFile]) {
    if (existsSync(f)) throw new CliError(`${f} already exists; not overwriting it (tokens signed with it stop verifying once it is gone)`)
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' }
  })
  // Written aside, then linked into place: link fails on an existing name, so nothing is ever replaced, and no half pair is left.
  const tmp = join(resolve(dir), `.jwt-${randomBytes(6).toString('hex')}`)
  try {
    writeFileSync(`${tmp}-private`, privateKey, { mode: 0o600, flag: 'wx' })
    writeFileSync(`${tmp}-public`, publicKey, { mode: 0o644, flag: 'wx' })
    linkSync(`${tmp}-private`, privateFile)
    try {
      linkSync(`${tmp}-public`, publicFile)
    } catch (err) {
      rmSync(privateFile)
      throw err
    }
  } catch (err) {
    throw new CliError(`cannot write the key pair in ${dir}: ${(err as Error).message}`)
  } finally {
    rmSync(`${tmp}-private`, { force: true })
    rmSync(`${tmp}-public`, { force: true })
  }
  return { privateFile, publicFile }
}

const generate: Command = {
  name: 'keys generate',
  summary: 'make an RSA key pair for RS256 access tokens',
  usage: '[DIR] [--bits N]',
  description: `
Writes DIR/jwt-private.pem (PKCS#8, mode 600) and DIR/jwt-public.pem (SPKI),
DIR defaulting to ./keys; existing files are never overwritten. Then set
JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE to them and tokens.algorithm to
RS256. Offline. Same files as npm run keys.`,
  options: { bits: BITS },
  positionals: [0, 1],
  async run (args) {
    const { privateFile, publicFile } = writePair(args.positionals[0] ?? 'keys', bits(this.name, args))
    process.stdout.write(`wrote an RSA key pair:
  ${privateFile}  (private, mode 600: keep it secret, never commit it)
  ${publicFile}   (public)

Use it for RS256 access tokens: in the gateway's environment
  JWT_PRIVATE_KEY_FILE=${privateFile}
  JWT_PUBLIC_KEY_FILE=${publicFile}
and in config/gateway.yaml:
  tokens:
    algorithm: RS256
`)
  }
}

const rotate: Command = {
  name: 'keys rotate',
  summary: 'start a signing-key rotation: a new key signs, the old one still verifies',
  usage: 'NEW_DIR [--previous FILE] [--bits N] | --hs256',
  description: `
Rotation logs nobody out: several keys verify tokens at once (each has its
own kid), only one signs. This makes the new key and prints the three steps:
1. point the gateway at the new key and keep the old one verifying
   (RS256: JWT_PREVIOUS_PUBLIC_KEY_FILES; HS256: JWT_PREVIOUS_SECRETS), then
   restart the replicas one by one; /.well-known/jwks.json lists both keys;
2. wait one access-token lifetime (tokens.accessTokenTtlSeconds), after which
   no token signed with the old key is still valid;
3. drop the old key from JWT_PREVIOUS_* and restart the replicas again.
RS256: writes a new pair into NEW_DIR; the old public key is --previous, else
$JWT_PUBLIC_KEY_FILE, else keys/jwt-public.pem. HS256 (--hs256): prints a new
random JWT_SECRET. Offline: the gateway changes only when restarted. A key
that may have leaked must not keep verifying: replace it and drop it at once.`,
  options: {
    previous: { type: 'string', value: 'FILE', description: 'the current public key (PEM), which keeps verifying' },
    bits: BITS,
    hs256: { type: 'boolean', description: 'rotate the HS256 JWT_SECRET instead' }
  },
  positionals: [0, 1],
  async run (args) {
    const steps = (env: string, drop: string) => `
1. Set in every replica's environment, then restart them one by one:
${env}
2. Wait one access-token lifetime (tokens.accessTokenTtlSeconds, 60 minutes by default).
3. Remove ${drop} and restart the replicas one by one again.
`
    if (args.values.hs256 === true) {
      if (args.positionals.length > 0 || args.values.previous !== undefined) throw new UsageError('--hs256 takes no folder and no --previous', this.name)
      const secret = randomBytes(48).toString('base64')
      process.stdout.write(`new HS256 secret (not stored anywhere):\n  ${secret}\n` + steps(
        `  JWT_SECRET=${secret}\n  JWT_PREVIOUS_SECRETS=<the current JWT_SECRET>`, 'JWT_PREVIOUS_SECRETS'))
      return
    }
    if (args.positionals.length === 0) throw new UsageError('missing argument: NEW_DIR (or --hs256)', this.name)
    const previous = (args.values.previous as string | undefined) ?? (process.env.JWT_PUBLIC_KEY_FILE || 'keys/jwt-public.pem')
    let previousPem: string
    try {
      previousPem = readFileSync(previous, 'utf8')
      if (createPublicKey(previousPem).asymmetricKeyType !== 'rsa') throw new Error('not an RSA key')
    } catch (err) {
      throw new CliError(`the current public key ${previous} is not usable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); name it with --previous`)
    }
    const { privateFile, publicFile } = writePair(args.positionals[0]!, bits(this.name, args))
    process.stdout.write(`wrote the new RSA key pair:\n  ${privateFile}  (private, mode 600)\n  ${publicFile}   (public)\n` + steps(
      `  JWT_PRIVATE_KEY_FILE=${privateFile}\n  JWT_PUBLIC_KEY_FILE=${publicFile}\n  JWT_PREVIOUS_PUBLIC_KEY_FILES=${resolve(previous)}`, 'JWT_PREVIOUS_PUBLIC_KEY_FILES'))
  }
}

export const keyCommands = [generate, rotate]
