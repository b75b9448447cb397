import { AuthMethodRefused, InsufficientScope, RoleForbidden, RouteDisabled, TokenMissing } from '../errors.js'
import type { Identity } from './authenticate/index.js'
import { refusal, type Decision } from './policy.js'

/** Stage 4 (docs/architecture.md §3): the policy's answer held against who the caller is. */
export function authorize (decision: Decision, identity: Identity | null): void {
  switch (refusal(decision, identity)) {
    case null: return
    case 'deny': throw new RouteDisabled()
    case 'login': throw new TokenMissing()
    case 'method': throw new AuthMethodRefused(identity!.method)
    case 'role': throw new RoleForbidden()
    case 'scope': throw new InsufficientScope()
  }
}
