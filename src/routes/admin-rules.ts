import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import { Access, Rule } from '../config/schema.js'
import { ADMIN } from './schemas.js'
import { METHODS } from '../pipeline/resolve/index.js'

const RuleView = Type.Object({
  index: Type.Integer({ description: 'Its place in the order rules are tried.' }),
  source: Type.Union([Type.Literal('config'), Type.Literal('mode')], { description: 'policy.rules, or the rules policy.mode and policy.index add after them.' }),
  rule: Rule
}, { additionalProperties: false })
const RulesResponse = Type.Object({
  mode: Type.String(),
  rules: Type.Array(RuleView),
  default: Access
}, { additionalProperties: false })

const Explain = Type.Object({
  method: Type.Union([...METHODS].map((m) => Type.Literal(m))),
  // The path and query as a client would send them (`/wp-json/wp/v2/posts?_embed`).
  path: Type.String({ pattern: '^/', minLength: 1, maxLength: 8192 }),
  // The credential header's value as a client would send it (`Bearer …`, `Basic …`); absent: anonymous.
  authorization: Type.Optional(Type.String({ minLength: 1, maxLength: 8192 }))
}, { additionalProperties: false })
type Explain = Static<typeof Explain>

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const ExplainResponse = Type.Object({
  result: Type.Union([Type.Literal('allowed'), Type.Literal('refused'), Type.Literal('gateway')], { description: 'gateway: the gateway answers this path itself (token, admin, dashboard…), and the route rules do not apply.' }),
  status: Type.Integer({ description: 'What the gateway would answer if it refused; 200 where it would forward to WordPress.' }),
  code: Nullable(Type.String()),
  message: Nullable(Type.String()),
  kind: Nullable(Type.Union([Type.Literal('rest'), Type.Literal('site'), Type.Literal('gateway'), Type.Literal('internal')])),
  route: Nullable(Type.String({ description: 'The canonical REST route the rules were matched against.' })),
  effective_method: Nullable(Type.String()),
  rule: Nullable(Type.Object({
    index: Nullable(Type.Integer()),
    source: Type.Union([Type.Literal('config'), Type.Literal('mode'), Type.Literal('default')]),
    route: Nullable(Type.String()),
    access: Access
  }, { additionalProperties: false })),
  identity: Nullable(Type.Object({
    user_id: Type.Integer(),
    login: Type.String(),
    roles: Type.Array(Type.String()),
    via: Type.String(),
    scopes: Type.Optional(Type.Array(Type.String())),
    client_id: Type.Optional(Type.String()),
    key_id: Type.Optional(Type.String())
  }, { additionalProperties: false }))
}, { additionalProperties: false })

/**
 * The route rules as the policy applies them, and a dry run of the pipeline
 * (README, "Admin routes"). Registered inside the admin routes: their guard
 * covers these.
 */
export default async function adminRuleRoutes (app: FastifyInstance): Promise<void> {
  app.get('/_gateway/admin/rules', {
    schema: {
      tags: ADMIN.tags,
      summary: 'The route rules as the policy applies them, in order, and the default',
      operationId: 'adminRules',
      security: ADMIN.security,
      response: { 200: RulesResponse, ...ADMIN.errors() }
    }
  }, async () => {
    return { mode: app.config.policy.mode, rules: [...app.policy.rules], default: app.policy.fallback }
  })

  app.post<{ Body: Explain }>('/_gateway/admin/explain', {
    bodyLimit: 32 * 1024,
    schema: {
      tags: ADMIN.tags,
      summary: 'A dry run of the pipeline (resolve, policy, authenticate, authorize) for a described request; nothing is forwarded',
      operationId: 'adminExplain',
      security: ADMIN.security,
      body: Explain,
      response: { 200: ExplainResponse, ...ADMIN.errors() }
    }
  }, async (request) => {
    const { method, path, authorization } = request.body
    app.audit.action(request, 'rules.explain', `${method} ${path.slice(0, 200)}`)
    // The gateway's own endpoints never reach the pipeline: their routes answer first
    // (`/` is the forwarding proxy's own route, src/pipeline/forward.ts, not an endpoint).
    const bare = path.split('?')[0]!
    if (bare.startsWith('/_gateway/') || (bare !== '/' && app.hasRoute({ method: method === 'HEAD' ? 'GET' : method, url: bare }))) {
      return { result: 'gateway', status: 200, code: null, message: 'The gateway answers this endpoint itself; the route rules do not apply.', kind: 'gateway', route: null, effective_method: method, rule: null, identity: null }
    }
    const { context, error } = await app.gate.explain(described(request, app.authentication.header, method, path, authorization), method, path)
    // The store or WordPress failing is the gateway's trouble, not an answer about the request.
    const status = error === null ? 200 : (error as { statusCode?: number }).statusCode ?? 500
    if (status >= 500) throw error
    const decision = context?.decision
    const identity = context?.identity ?? null
    const resolved = context?.resolved
    return {
      result: error === null ? 'allowed' : 'refused',
      status,
      code: (error as { code?: string } | null)?.code ?? null,
      message: error?.message ?? null,
      kind: resolved?.kind ?? null,
      route: resolved?.route ?? null,
      effective_method: resolved?.method ?? null,
      rule: decision === undefined
        ? null
        : decision.index === undefined
          ? { index: null, source: 'default', route: null, access: decision.access }
          : { index: decision.index, source: app.policy.rules[decision.index]!.source, route: decision.pattern ?? null, access: decision.access },
      identity: identity === null
        ? null
        : {
            user_id: Number(identity.userId),
            login: identity.login,
            roles: [...identity.roles],
            via: identity.method,
            ...(identity.scopes === undefined ? {} : { scopes: [...identity.scopes] }),
            ...(identity.clientId === undefined ? {} : { client_id: identity.clientId }),
            ...(identity.keyId === undefined ? {} : { key_id: identity.keyId })
          }
    }
  })
}

/**
 * The described request, as the authenticators read one: its credential
 * header (raw, as they count duplicates), and the caller's own address and
 * scheme, so that throttling and Basic's TLS rule apply as they would to it.
 */
function described (request: FastifyRequest, header: string, method: string, url: string, credential: string | undefined): FastifyRequest {
  const headers: Record<string, string> = credential === undefined ? {} : { [header]: credential }
  return {
    raw: { method, url, headers, rawHeaders: Object.entries(headers).flat() },
    headers,
    method,
    url,
    ip: request.ip,
    protocol: request.protocol,
    log: request.log,
    gateway: null,
    audit: null
  } as unknown as FastifyRequest
}
