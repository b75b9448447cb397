import type { Access, FileConfig, RateLimit, Rule } from '../config/schema.js'
import type { AuthMethod, Identity } from './authenticate/identity.js'

// Stage 2 (docs/architecture.md §3): rules are data; the first rule matching (route,
// method) decides, the default covers the rest. The operator's rules come
// first, then those of the chosen mode.

export interface Decision {
  access: Access
  roles?: readonly string[] | undefined
  notRoles?: readonly string[] | undefined
  scopes?: readonly string[] | undefined
  /** The methods the route accepts; absent: every enabled one. */
  authenticators?: readonly AuthMethod[] | undefined
  /** The rule's request rate limit, with the rule's place in the list, which names its counters. */
  rateLimit?: (RateLimit & { rule: number }) | undefined
  /** The rule's route as configured (`/wp/v2*`), or `default`: a bounded label for metrics. */
  pattern?: string
  /** The rule's place in the effective list (see Policy.rules); absent for the default. */
  index?: number
}

/** A rule as the policy applies it (GET /_gateway/admin/rules). */
export interface EffectiveRule {
  index: number
  /** Where it comes from: the operator's `policy.rules`, or the chosen mode (and `policy.index`). */
  source: 'config' | 'mode'
  rule: Rule
}

interface CompiledRule extends Decision {
  route: string
  prefix: boolean
  methods: ReadonlySet<string> | null
}

type PolicyConfig = FileConfig['policy']

/** The rules each ready-made mode adds after the operator's, and the default it implies. */
function seed (policy: PolicyConfig): { rules: Rule[], fallback: Access } {
  const index: Rule[] = policy.index === undefined ? [] : [{ route: '/', methods: ['GET'], access: policy.index === 'open' ? 'public' : 'authenticated' }]
  switch (policy.mode) {
    case 'protect-all': return { rules: index, fallback: 'authenticated' }
    case 'protect-core': return { rules: [...index, { route: '/wp/v2*', access: 'authenticated' }], fallback: 'public' }
    case 'disable-rest': return { rules: [], fallback: 'deny' }
    case 'custom': return { rules: index, fallback: policy.default }
  }
}

export class Policy {
  readonly #rules: CompiledRule[]
  readonly #default: Decision
  readonly #effective: EffectiveRule[]

  constructor (policy: PolicyConfig) {
    const { rules, fallback } = seed(policy)
    this.#default = { access: fallback, pattern: 'default' }
    this.#effective = [...policy.rules.map((rule) => ({ source: 'config' as const, rule })), ...rules.map((rule) => ({ source: 'mode' as const, rule }))]
      .map((r, index) => ({ index, ...r }))
    this.#rules = [...policy.rules, ...rules].map((r, i) => {
      const prefix = r.route.endsWith('*')
      const route = (prefix ? r.route.slice(0, -1) : r.route.replace(/\/+$/, '') || '/').toLowerCase()
      const rateLimit = r.rateLimit === undefined ? undefined : { ...r.rateLimit, rule: i }
      return { route, prefix, methods: r.methods ? new Set(r.methods) : null, access: r.access, roles: r.roles, notRoles: r.notRoles, scopes: r.scopes, authenticators: r.authenticators, rateLimit, pattern: r.route, index: i }
    })
  }

  /** The rules in the order they are tried, the operator's first; the first that matches decides. */
  get rules (): readonly EffectiveRule[] { return this.#effective }

  /** What applies where no rule matches. */
  get fallback (): Access { return this.#default.access }

  /** `route` is canonical (resolve stage): lower-case, no trailing slash. */
  decide (route: string, method: string): Decision {
    // WordPress serves HEAD with the GET handler (class-wp-rest-server.php, match_request_to_handler).
    const m = method === 'HEAD' ? 'GET' : method
    for (const r of this.#rules) {
      if (r.methods !== null && !r.methods.has(m) && !r.methods.has(method)) continue
      if (r.prefix ? route.startsWith(r.route) : route === r.route) return r
    }
    return this.#default
  }

  /**
   * The GET rules as they apply to this caller, for the bridge to hold
   * `_embed` sub-requests to (claim `emb`): WordPress fetches embedded
   * resources internally, past the gateway, as the same user.
   */
  embedView (identity: Identity | null): { r: Array<[string, 0 | 1]>, d: 0 | 1 } {
    const r: Array<[string, 0 | 1]> = [['/gateway-bridge*', 0]]
    for (const rule of this.#rules) {
      if (rule.methods !== null && !rule.methods.has('GET')) continue
      r.push([rule.prefix ? rule.route + '*' : rule.route, allows(rule, identity) ? 1 : 0])
    }
    return { r, d: allows(this.#default, identity) ? 1 : 0 }
  }
}

/** Why a decision refuses this caller, or null when it allows them. */
export function refusal (decision: Decision, identity: Identity | null): 'deny' | 'login' | 'method' | 'role' | 'scope' | null {
  if (decision.access === 'deny') return 'deny'
  // A narrowed credential (one with scopes: an API key, an OAuth token) acts
  // as its user only where a rule names scopes it holds; anywhere else it is
  // refused, public routes included (without it, the caller is anonymous there).
  if (identity?.scopes !== undefined && decision.scopes === undefined) return 'scope'
  if (decision.access === 'public') return null
  if (identity === null) return 'login'
  if (decision.authenticators !== undefined && !decision.authenticators.includes(identity.method as AuthMethod)) return 'method'
  if (decision.roles !== undefined && !decision.roles.some((r) => identity.roles.includes(r))) return 'role'
  if (decision.notRoles?.some((r) => identity.roles.includes(r)) === true) return 'role'
  if (decision.scopes !== undefined && !decision.scopes.every((s) => identity.scopes?.includes(s) === true)) return 'scope'
  return null
}

const allows = (decision: Decision, identity: Identity | null) => refusal(decision, identity) === null
