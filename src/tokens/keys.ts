import { createHash, createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Config } from '../config/schema.js'

export type Algorithm = 'HS256' | 'RS256'

export interface SigningKey {
  kid: string
  alg: Algorithm
  signWith: KeyObject
  verifyWith: KeyObject
  /** Published at /.well-known/jwks.json; absent for shared secrets. */
  publicJwk: JWK | undefined
}

/**
 * The keys tokens are signed and verified with. One signs; every key in
 * `verifiers` still verifies, so keys can rotate without logging anyone out.
 */
export interface Keyring {
  signer: SigningKey
  verifiers: ReadonlyMap<string, SigningKey>
}

export async function loadKeyring (config: Config): Promise<Keyring> {
  const { env } = config
  const signer = config.tokens.algorithm === 'HS256'
    ? hmacKey(env.jwtSecret!, config.tokens.keyId)
    : await rsaKey(env.jwtPrivateKeyPem!, config.tokens.keyId)
  const previous = [
    ...env.previousSecrets.map((s) => hmacKey(s, undefined)),
    ...await Promise.all(env.previousPublicKeyPems.map((pem) => rsaPublicKey(pem)))
  ]
  const verifiers = new Map<string, SigningKey>([[signer.kid, signer]])
  // A retired key equal to the active one would only shadow it; skip it.
  for (const key of previous) if (!verifiers.has(key.kid)) verifiers.set(key.kid, key)
  return { signer, verifiers }
}

function hmacKey (secret: Buffer, kid: string | undefined): SigningKey {
  const key = createSecretKey(secret)
  // A kid derived from the secret is stable across replicas and restarts;
  // a truncated SHA-256 of a >= 256-bit secret reveals nothing usable.
  const derived = 'hs256-' + createHash('sha256').update('wp-auth-gateway kid\0').update(secret).digest('base64url').slice(0, 16)
  return { kid: kid ?? derived, alg: 'HS256', signWith: key, verifyWith: key, publicJwk: undefined }
}

async function rsaKey (pem: string, kid: string | undefined): Promise<SigningKey> {
  const priv = createPrivateKey(pem)
  return { ...await rsaPublicKey(createPublicKey(priv), kid), signWith: priv }
}

/** A verify-only RSA key; its `signWith` is the public key, which cannot sign. */
async function rsaPublicKey (key: string | KeyObject, kid?: string): Promise<SigningKey> {
  const pub = typeof key !== 'string' && key.type === 'public' ? key : createPublicKey(key)
  const jwk = pub.export({ format: 'jwk' }) as JWK
  const id = kid ?? await calculateJwkThumbprint(jwk) // RFC 7638
  return { kid: id, alg: 'RS256', signWith: pub, verifyWith: pub, publicJwk: { ...jwk, kid: id, alg: 'RS256', use: 'sig' } }
}
