import { Type, type Static } from '@sinclair/typebox'
import type { Topology } from '../store/redis/topology.js'
import { AUTH_METHODS } from '../pipeline/authenticate/identity.js'
import { Providers } from './providers.js'
import type { TracingSettings } from './tracing.js'

// The YAML file's shape. One source for validation and for the TypeScript
// type; config/gateway.example.yaml documents each key.

export const Access = Type.Union([
  Type.Literal('public'),
  Type.Literal('authenticated'),
  Type.Literal('deny')
])
export type Access = Static<typeof Access>

export const Method = Type.Union(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].map((m) => Type.Literal(m)))

/** The methods enabled when auth.methods is not set. */
export const DEFAULT_METHODS = ['jwt', 'cookie'] as const
export const AuthMethod = Type.Union(AUTH_METHODS.map((m) => Type.Literal(m)))

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
const level = (fallback: typeof LEVELS[number]) => Type.Union(LEVELS.map((l) => Type.Literal(l)), { default: fallback })
const LogLevel = level('info')

const Names = Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_:.-]+$' }), { minItems: 1, uniqueItems: true })

export const RateLimit = Type.Object({
  max: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  windowSeconds: Type.Integer({ minimum: 1, maximum: 86_400 }),
  by: Type.Union([Type.Literal('ip'), Type.Literal('user'), Type.Literal('key')], { default: 'ip' })
}, { additionalProperties: false })
export type RateLimit = Static<typeof RateLimit>

export const Rule = Type.Object({
  // `/wp/v2/posts` matches that route only; a trailing `*` matches by prefix
  // (`/wp/v2/posts*` also covers `/wp/v2/posts/12`). Case-insensitive, like
  // WordPress's own route matching (class-wp-rest-server.php, match_request_to_handler).
  route: Type.String({ pattern: '^/[^\\s?#*]*\\*?$' }),
  methods: Type.Optional(Type.Array(Method, { minItems: 1, uniqueItems: true })),
  access: Access,
  // With access: authenticated only. roles: the caller needs one of them;
  // notRoles: none of them; scopes: every one (tokens that carry scopes).
  roles: Type.Optional(Names),
  notRoles: Type.Optional(Names),
  scopes: Type.Optional(Names),
  // With access: authenticated only: the methods this route accepts (default: every enabled one).
  authenticators: Type.Optional(Type.Array(AuthMethod, { minItems: 1, uniqueItems: true })),
  // At most `max` requests per `windowSeconds` to the routes this rule covers,
  // counted per client IP, per user, or per API key or OAuth client (user,
  // then IP, for callers without one), shared by every replica.
  rateLimit: Type.Optional(RateLimit)
}, { additionalProperties: false })
export type Rule = Static<typeof Rule>

export const FileConfig = Type.Object({
  server: Type.Object({
    logLevel: LogLevel,
    bodyLimit: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024, default: 10 * 1024 * 1024 }),
    requestTimeoutMs: Type.Integer({ minimum: 1000, default: 60_000 }),
    keepAliveTimeoutMs: Type.Integer({ minimum: 1000, default: 72_000 }),
    trustProxy: Type.Boolean({ default: false })
  }, { additionalProperties: false, default: {} }),
  upstream: Type.Object({
    timeoutMs: Type.Integer({ minimum: 100, default: 30_000 }),
    connections: Type.Integer({ minimum: 1, maximum: 1024, default: 64 }),
    // PHP's max_input_vars on the WordPress server (php.ini; 1000 by default).
    // PHP drops parameters past it, so requests with more are refused. Never
    // set it higher than the server's.
    maxInputVars: Type.Integer({ minimum: 10, maximum: 100_000, default: 1000 })
  }, { additionalProperties: false, default: {} }),
  store: Type.Object({
    // Longest a Redis command may take before the request is answered 503.
    commandTimeoutMs: Type.Integer({ minimum: 50, maximum: 30_000, default: 1000 }),
    // Replicas a revocation must reach (Redis WAIT) before it is acknowledged:
    // auto = one where the master has any, else none. A revocation no replica
    // acknowledged in time is answered 503, so a failover cannot lose an
    // acknowledged one.
    waitReplicas: Type.Union([Type.Literal('auto'), Type.Integer({ minimum: 0, maximum: 10 })], { default: 'auto' }),
    waitTimeoutMs: Type.Integer({ minimum: 10, maximum: 10_000, default: 1000 })
  }, { additionalProperties: false, default: {} }),
  tokens: Type.Object({
    algorithm: Type.Union([Type.Literal('HS256'), Type.Literal('RS256')], { default: 'HS256' }),
    issuer: Type.String({ minLength: 1, default: 'wp-auth-gateway' }),
    audience: Type.String({ minLength: 1, default: 'wordpress' }),
    accessTokenTtlSeconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 3600 }),
    refreshTokenTtlSeconds: Type.Integer({ minimum: 300, maximum: 31_536_000, default: 1_209_600 }),
    clockToleranceSeconds: Type.Integer({ minimum: 0, maximum: 300, default: 5 }),
    keyId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }))
  }, { additionalProperties: false, default: {} }),
  admin: Type.Object({
    // argon2id hash of an admin API token (npm run admin-token makes both); absent: only
    // WordPress administrators with a gateway token may call /_gateway/admin/.
    apiTokenHash: Type.Optional(Type.String({ pattern: '^\\$argon2id\\$' }))
  }, { additionalProperties: false, default: {} }),
  dashboard: Type.Object({
    // The dashboard at /_gateway/dashboard/ (README, "Dashboard"); false: not served, and its cookie opens nothing.
    enabled: Type.Boolean({ default: true }),
    // A dashboard session ends after this long without a request, and after maxSeconds whatever happens.
    idleSeconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 900 }),
    maxSeconds: Type.Integer({ minimum: 300, maximum: 604_800, default: 28_800 })
  }, { additionalProperties: false, default: {} }),
  auth: Type.Object({
    // The header that carries credentials. Another name than Authorization
    // makes Authorization itself refused for credentials.
    header: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$', default: 'Authorization' }),
    // The methods enabled, in the order they are tried: jwt (the gateway's own
    // tokens), apikey (wpgk_… keys), basic (WordPress passwords, Application
    // Passwords, OAuth clients), cookie (wp-admin's login cookie + X-WP-Nonce),
    // oidc (tokens of the identity providers under providers:).
    methods: Type.Array(AuthMethod, { minItems: 1, uniqueItems: true, default: [...DEFAULT_METHODS] }),
    basic: Type.Object({
      // Basic sends a password with every request: refused over plain HTTP
      // unless false (behind a TLS terminator, set server.trustProxy instead).
      requireTls: Type.Boolean({ default: true }),
      // A verified login is remembered this long (keyed hash, never the password).
      cacheSeconds: Type.Integer({ minimum: 0, maximum: 3600, default: 60 })
    }, { additionalProperties: false, default: {} }),
    // API keys (wpgk_…): how many one user may hold, and the longest a new one may live (0: no limit).
    apiKeys: Type.Object({
      maxPerUser: Type.Integer({ minimum: 1, maximum: 1000, default: 25 }),
      maxLifetimeSeconds: Type.Integer({ minimum: 0, maximum: 315_360_000, default: 0 })
    }, { additionalProperties: false, default: {} }),
    // Failed attempts at any secret, counted in Redis for every replica.
    throttle: Type.Object({
      account: Type.Object({
        attempts: Type.Integer({ minimum: 1, maximum: 1000, default: 5 }),
        seconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 900 })
      }, { additionalProperties: false, default: {} }),
      ip: Type.Object({
        attempts: Type.Integer({ minimum: 1, maximum: 100_000, default: 30 }),
        seconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 })
      }, { additionalProperties: false, default: {} })
    }, { additionalProperties: false, default: {} })
  }, { additionalProperties: false, default: {} }),
  oauth: Type.Object({
    // After a client's secret is rotated, the old one keeps working this long (0: stops at once).
    secretRotationGraceSeconds: Type.Integer({ minimum: 0, maximum: 2_592_000, default: 86_400 }),
    // The authorization server's identifier in /.well-known/oauth-authorization-server (RFC 8414 §2):
    // the gateway's public origin. Unset: tokens.issuer when it is such a URL, else the request's own origin.
    issuer: Type.Optional(Type.String({ pattern: '^https?://[^/\\s?#@]+$' }))
  }, { additionalProperties: false, default: {} }),
  policy: Type.Object({
    // Ready-made rule sets: custom (only rules + default), protect-all,
    // protect-core (only /wp/v2), disable-rest. Operator rules come first.
    mode: Type.Union([Type.Literal('custom'), Type.Literal('protect-all'), Type.Literal('protect-core'), Type.Literal('disable-rest')], { default: 'custom' }),
    // The discovery index (GET /wp-json/): open (public) or closed (login required); unset: the rules decide.
    index: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('closed')])),
    default: Type.Union([Access], { default: 'authenticated' }),
    rules: Type.Array(Rule, { default: [] })
  }, { additionalProperties: false, default: {} }),
  audit: Type.Object({
    // One line per request with the decision (who, how, what, the outcome):
    // the level it is logged at, or silent. Debug by default, so that at the
    // usual info level the hot path writes no log: the audit stream holds the
    // same entries. A line per request costs about a tenth of its CPU (bench/analysis.md).
    logLevel: level('debug'),
    // The audit stream (README, "Audit trail"): every decision, admin action and
    // bridge event, in the store (a Redis Stream), read by the admin API and the dashboard.
    stream: Type.Object({
      enabled: Type.Boolean({ default: true }),
      // Entries kept, about (Redis trims whole nodes of ~100 entries).
      maxEntries: Type.Integer({ minimum: 1000, maximum: 100_000_000, default: 100_000 }),
      // Entries older than this are dropped.
      retentionHours: Type.Number({ exclusiveMinimum: 0, maximum: 8760, default: 168 }),
      // How often queued entries are written, in one round trip.
      flushMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1000 }),
      // Entries waiting beyond this many are dropped and counted (a slow or absent store).
      bufferEntries: Type.Integer({ minimum: 100, maximum: 1_000_000, default: 50_000 }),
      // Entries GET /_gateway/admin/analytics reads at most; beyond, it says `truncated`.
      analyticsScanLimit: Type.Integer({ minimum: 1000, maximum: 10_000_000, default: 200_000 })
    }, { additionalProperties: false, default: {} })
  }, { additionalProperties: false, default: {} }),
  metrics: Type.Object({
    // argon2id hash of a scrape-only token for /_gateway/metrics (npm run admin-token -- --metrics
    // makes both). The admin API token and WordPress administrators may always scrape.
    tokenHash: Type.Optional(Type.String({ pattern: '^\\$argon2id\\$' })),
    // Also serve the metrics without any credential on a port of their own (GET /metrics and
    // /_gateway/metrics), for a private network only; 0: any free port. Unset: not served there.
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65_535 })),
    // The address that port listens on (default: HOST).
    host: Type.Optional(Type.String({ minLength: 1 }))
  }, { additionalProperties: false, default: {} }),
  tracing: Type.Object({
    // An OpenTelemetry collector's OTLP/HTTP address (http://collector:4318; /v1/traces is
    // appended), like OTEL_EXPORTER_OTLP_ENDPOINT: traces are on. The OTEL_* variables win
    // over it (README, "Traces"). Unset, and no OTEL_* endpoint: no tracing is loaded at all.
    endpoint: Type.Optional(Type.String({ pattern: '^https?://[^\\s?#]+$' }))
  }, { additionalProperties: false, default: {} }),
  cors: Type.Object({
    // Exact origins (`https://app.example.com`) or ["*"]; empty: no cross-origin access.
    origins: Type.Array(Type.String({ pattern: '^(\\*|https?://[^/\\s]+)$' }), { default: [] }),
    methods: Type.Array(Method, { default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] }),
    headers: Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), { default: ['Authorization', 'Content-Type', 'X-WP-Nonce', 'X-HTTP-Method-Override'] }),
    exposeHeaders: Type.Array(Type.String({ pattern: '^[A-Za-z0-9-]+$' }), { default: ['X-WP-Total', 'X-WP-TotalPages', 'Link'] }),
    credentials: Type.Boolean({ default: false }),
    maxAgeSeconds: Type.Integer({ minimum: 0, maximum: 86_400, default: 600 })
  }, { additionalProperties: false, default: {} }),
  // Identity providers whose tokens are accepted (auth.methods: oidc), by name (src/config/providers.ts).
  providers: Providers,
  // Registration and password reset over REST (README, "Accounts"), done by WordPress through the bridge.
  accounts: Type.Object({
    register: Type.Object({
      // wordpress: open when WordPress's "Anyone can register" (users_can_register) is on; true / false: the gateway decides.
      enabled: Type.Union([Type.Literal('wordpress'), Type.Boolean()], { default: 'wordpress' }),
      // A token pair in the answer when the new account can log in at once (it chose a password, and WordPress lets it in).
      login: Type.Boolean({ default: false }),
      // true: a taken username or email is said so, as WordPress's own form does; false: answered like a success (202).
      revealTaken: Type.Boolean({ default: true })
    }, { additionalProperties: false, default: {} }),
    password: Type.Object({
      // New passwords (register, reset, change): at least this many characters, and not one of the very common ones.
      minLength: Type.Integer({ minimum: 8, maximum: 128, default: 10 }),
      rejectCommon: Type.Boolean({ default: true })
    }, { additionalProperties: false, default: {} }),
    // The link in WordPress's reset (and new-user) mails, for apps: {key} and {login} are filled in, e.g.
    // myapp://reset?key={key}&login={login}. Unset: WordPress's own wp-login.php link.
    resetUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048, pattern: '^[A-Za-z][A-Za-z0-9+.-]*:\\S+$' })),
    // Reset and registration mails, per account and per client IP (a separate count from failed attempts).
    mail: Type.Object({
      account: Type.Object({
        attempts: Type.Integer({ minimum: 1, maximum: 1000, default: 3 }),
        seconds: Type.Integer({ minimum: 1, maximum: 604_800, default: 3600 })
      }, { additionalProperties: false, default: {} }),
      ip: Type.Object({
        attempts: Type.Integer({ minimum: 1, maximum: 100_000, default: 10 }),
        seconds: Type.Integer({ minimum: 1, maximum: 604_800, default: 3600 })
      }, { additionalProperties: false, default: {} })
    }, { additionalProperties: false, default: {} }),
    // A CAPTCHA check before register and password/forgot (off unless webhook is set): the client's
    // header value is POSTed to the webhook, and only a 2xx {"success": true} lets the request through.
    captcha: Type.Object({
      webhook: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$' })),
      header: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$', default: 'X-Captcha-Token' }),
      timeoutMs: Type.Integer({ minimum: 100, maximum: 30_000, default: 3000 })
    }, { additionalProperties: false, default: {} })
  }, { additionalProperties: false, default: {} }),
  site: Type.Object({
    // Non-REST paths: XML-RPC (a second, older API with its own logins) and wp-login.php.
    xmlrpc: Type.Union([Type.Literal('block'), Type.Literal('pass')], { default: 'block' }),
    login: Type.Union([Type.Literal('block'), Type.Literal('pass')], { default: 'pass' }),
    // WordPress's login cookie names start with these (wordpress_logged_in_<hash>,
    // wordpress_sec_<hash>, wordpress_<hash>): REST requests not authenticated by
    // cookie reach WordPress without them. Add yours if wp-config.php renames them.
    loginCookies: Type.Array(Type.String({ minLength: 1, pattern: '^[A-Za-z0-9_-]+$' }), { minItems: 1, default: ['wordpress_'] })
  }, { additionalProperties: false, default: {} })
}, { additionalProperties: false })
export type FileConfig = Static<typeof FileConfig>

/** Secrets and deployment values, from the environment only (README, "Configuration"). */
export interface EnvConfig {
  port: number
  host: string
  /** Processes serving the port (WORKERS): 1 runs no cluster at all. */
  workers: number
  wordpressUrl: URL
  /** Where Redis is (REDIS_URL or REDIS_CLUSTER_NODES); absent: the in-process store. */
  redis: Topology | undefined
  bridgeSecret: Buffer
  /**
   * The key of the keyed hashes under which secrets are stored (API keys,
   * client secrets, the Basic cache): HASH_SECRET, or derived from
   * BRIDGE_SECRET when it is not set.
   */
  hashSecret: Buffer
  jwtSecret: Buffer | undefined
  jwtPrivateKeyPem: string | undefined
  jwtPublicKeyPem: string | undefined
  /** Keys that no longer sign but still verify, so rotation logs nobody out. */
  previousSecrets: Buffer[]
  previousPublicKeyPems: string[]
  /** Introspection client secrets of providers with opaque tokens, by provider name (src/config/providers.ts). */
  providerSecrets: Record<string, string>
  /** Where traces go, when they are on (src/config/tracing.ts); undefined: off. */
  tracing: TracingSettings | undefined
}

export type Config = FileConfig & { env: EnvConfig }
