import type { Access, Rule } from '../config/schema.js'

// Stage 2 (DESIGN §2): rules are data; the first rule matching (route,
// method) decides, the default covers the rest.

interface CompiledRule {
  route: string
  prefix: boolean
  methods: ReadonlySet<string> | null
  access: Access
}

export class Policy {
  readonly #rules: CompiledRule[]
  readonly #default: Access

  constructor (rules: readonly Rule[], fallback: Access) {
    this.#default = fallback
    this.#rules = rules.map((r) => {
      const prefix = r.route.endsWith('*')
      const route = (prefix ? r.route.slice(0, -1) : r.route.replace(/\/+$/, '') || '/').toLowerCase()
      return { route, prefix, methods: r.methods ? new Set(r.methods) : null, access: r.access }
    })
  }

  /** `route` is canonical (resolve stage): lower-case, no trailing slash. */
  decide (route: string, method: string): Access {
    // WordPress serves HEAD with the GET handler (class-wp-rest-server.php, match_request_to_handler).
    const m = method === 'HEAD' ? 'GET' : method
    for (const r of this.#rules) {
      if (r.methods !== null && !r.methods.has(m) && !r.methods.has(method)) continue
      if (r.prefix ? route.startsWith(r.route) : route === r.route) return r.access
    }
    return this.#default
  }
}
