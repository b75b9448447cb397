import type { FastifyRequest } from 'fastify'
import { AuthHeaderNotAllowed, AuthSchemeUnsupported, TokenMalformed } from '../../errors.js'
import type { Authenticator, Credentials } from './authenticator.js'
import { readCredentials } from './credentials.js'
import type { Identity } from './identity.js'

export type { Authenticator } from './authenticator.js'
export type { Identity } from './identity.js'

/**
 * Stage 3 (docs/architecture.md §3): walks the enabled authenticators in order. No
 * credentials: anonymous (null). Credentials nobody recognises, or that the
 * responsible authenticator rejects: an error, never anonymous.
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

  /** Synchronous unless an authenticator needs I/O; callers await the result either way. */
  authenticate (request: FastifyRequest): Identity | null | Promise<Identity | null> {
    // With a custom header, Authorization carrying credentials is refused rather
    // than ignored: a client or proxy that sends it has misunderstood the set-up.
    if (this.#header !== 'authorization' && readCredentials(request.raw, 'authorization') !== null) throw new AuthHeaderNotAllowed(this.#headerName)
    const credentials = readCredentials(request.raw, this.#header, this.#header !== 'authorization')
    if (credentials === null) return null
    if (credentials.value === '') throw new TokenMalformed()
    return this.#walk(request, credentials, 0)
  }

  #walk (request: FastifyRequest, credentials: Credentials, from: number): Identity | null | Promise<Identity | null> {
    for (let i = from; i < this.#authenticators.length; i++) {
      const identity = this.#authenticators[i]!.authenticate(request, credentials)
      if (identity instanceof Promise) return identity.then((id) => id ?? this.#walk(request, credentials, i + 1))
      if (identity !== null) return identity
    }
    throw new AuthSchemeUnsupported()
  }
}
