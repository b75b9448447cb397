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
  authenticate (request: FastifyRequest, credentials: Credentials): Promise<Identity | null>
}

/** The credential header, split once for every authenticator. */
export interface Credentials {
  scheme: string
  value: string
}
