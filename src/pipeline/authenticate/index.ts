import type { FastifyRequest } from 'fastify'
import { AuthHeaderNotAllowed, AuthSchemeUnsupported, TokenInvalid, TokenMalformed } from '../../errors.js'
import { parseJsonObject } from '../../tokens/jws-verify.js'
import type { Authenticator } from './authenticator.js'
import { readCredentials, type RequestCredentials } from './credentials.js'
import type { Identity } from './identity.js'

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/

function looksLikeJws (value: string): boolean {
  if (value.length > 8192 || !COMPACT_JWS.test(value)) return false
  return parseJsonObject(Buffer.from(value.slice(0, value.indexOf('.')), 'base64url').toString('utf8')) !== undefined
}

export type { Authenticator } from './authenticator.js'
export type { AuthMethod, Identity } from './identity.js'

/**
 * Stage 3 (docs/architecture.md §3): walks the enabled authenticators in
 * their configured order (`auth.methods`); the first responsible one decides.
 * No credentials at all: anonymous (null). A credential no enabled method is
 * responsible for, or that the responsible one rejects: an error, never
 * anonymous.
 */
export class AuthenticationChain {
  readonly #authenticators: readonly Authenticator[]
  readonly #header: string
  readonly #headerName: string
  readonly #guarded: ReadonlySet<string>

  constructor (authenticators: readonly Authenticator[], header = 'Authorization') {
    this.#authenticators = authenticators
    this.#header = header.toLowerCase()
    this.#headerName = header
    this.#guarded = new Set(['authorization', 'proxy-authorization', this.#header])
  }

  get header (): string { return this.#header }

  /** The credential headers, lower-case: never forwarded, and refused in any other spelling. */
  get guardedHeaders (): ReadonlySet<string> { return this.#guarded }

  /** A chain that tries these first (the admin token on admin routes), then this one's. */
  with (first: readonly Authenticator[]): AuthenticationChain {
    return new AuthenticationChain([...first, ...this.#authenticators], this.#headerName)
  }

  /**
   * Synchronous unless an authenticator needs I/O or refuses; callers await
   * the result either way. A refusal is a rejected promise rather than a
   * throw: nothing on the way to it throws, so all of it stays optimised
   * when every request is refused (V8 optimises a function only as it
   * returns; jws-verify.ts), and the caller's await is the one place it is
   * raised.
   */
  authenticate (request: FastifyRequest): Identity | null | Promise<Identity | null> {
    const result = this.#authenticate(request)
    return result instanceof Error ? Promise.reject(result) : result
  }

  #authenticate (request: FastifyRequest): Identity | null | Error | Promise<Identity | null> {
    // With a custom header, Authorization carrying credentials is refused rather
    // than ignored: a client or proxy that sends it has misunderstood the set-up.
    if (this.#header !== 'authorization' && readCredentials(request.raw, 'authorization') !== null) return new AuthHeaderNotAllowed(this.#headerName)
    const header = readCredentials(request.raw, this.#header, this.#header !== 'authorization')
    if (header !== null && header.value === '') return new TokenMalformed()
    return this.#walk(request, { header }, 0)
  }

  #walk (request: FastifyRequest, credentials: RequestCredentials, from: number): Identity | null | Error | Promise<Identity | null> {
    for (let i = from; i < this.#authenticators.length; i++) {
      const identity = this.#authenticators[i]!.authenticate(request, credentials)
      if (identity instanceof Promise) return identity.then((id) => id ?? this.#walkOn(request, credentials, i + 1))
      if (identity !== null) return identity
    }
    if (credentials.header === null) return null
    // A bearer token none of the enabled methods knows: an unknown issuer or key (invalid), or no token at all (malformed).
    if (credentials.header.scheme === 'bearer') return looksLikeJws(credentials.header.value) ? new TokenInvalid() : new TokenMalformed()
    return new AuthSchemeUnsupported()
  }

  /** The rest of the walk after an asynchronous answer: a refusal rejects the promise. */
  #walkOn (request: FastifyRequest, credentials: RequestCredentials, from: number): Identity | null | Promise<Identity | null> {
    const result = this.#walk(request, credentials, from)
    if (result instanceof Error) throw result
    return result
  }
}
