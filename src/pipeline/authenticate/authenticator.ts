import type { FastifyRequest } from 'fastify'
import type { Identity } from './identity.js'

/**
 * One method of proving who one is (Oathkeeper's pipeline/authn). `null`
 * means "not responsible: no credentials of my kind here"; credentials of
 * its kind that fail throw a GW_ERR_* error and never fall through to
 * anonymous.
 */
export interface Authenticator {
  readonly name: string
  /** Synchronous where it can be: most requests need no I/O to authenticate. */
  authenticate (request: FastifyRequest, credentials: Credentials): Identity | null | Promise<Identity | null>
}

/** The credential header, split once for every authenticator. */
export interface Credentials {
  scheme: string
  value: string
}
