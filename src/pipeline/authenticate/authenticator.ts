import type { FastifyRequest } from 'fastify'
import type { RequestCredentials } from './credentials.js'
import type { AuthMethod, Identity } from './identity.js'

/**
 * One way of proving who one is (Ory Oathkeeper's pipeline/authn). Each reads
 * its own credential and first answers cheaply whether it is responsible (a
 * scheme, a key prefix, a JWT's `kid`): `null` means "not responsible, no
 * credential of mine here"; a credential of its kind that fails throws a
 * GW_ERR_* error, or returns it where the refusal is on the hot path (the
 * chain throws it, once: see AuthenticationChain), and never falls through
 * to another method or to anonymous.
 */
export interface Authenticator {
  readonly method: AuthMethod | 'admintoken'
  /** Synchronous where it can be: most requests need no I/O to authenticate. */
  authenticate (request: FastifyRequest, credentials: RequestCredentials): Identity | null | Error | Promise<Identity | null>
}
