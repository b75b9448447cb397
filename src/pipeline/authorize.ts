import type { Access } from '../config/schema.js'
import { RouteDisabled, TokenMissing } from '../errors.js'
import type { Identity } from './authenticate/index.js'

/** Stage 4 (DESIGN §2): the policy's answer held against who the caller is. */
export function authorize (access: Access, identity: Identity | null): void {
  if (access === 'deny') throw new RouteDisabled()
  if (access === 'authenticated' && identity === null) throw new TokenMissing()
}
