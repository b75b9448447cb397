import { createHmac } from 'node:crypto'
import { ExpiringCache } from '../util/expiring-cache.js'

// The signed statement that tells WordPress who the caller is (docs/architecture.md §4).
// Signed by hand rather than through a JWT library: it is made on every
// forwarded request, its shape is fixed, and HMAC-SHA256 over a short string
// is all it takes.

export const ASSERTION_HEADER = 'x-wp-gateway-assertion'
export const ASSERTION_LIFETIME_SECONDS = 30

export type Via = 'jwt' | 'refresh' | 'basic' | 'apikey' | 'oauth' | 'external' | 'cookie' | 'gateway'

export interface AssertionFacts {
  /** WordPress user ID; absent for an anonymous (public) request. */
  sub?: string | undefined
  via: Via | 'none'
  /** Effective HTTP method. */
  mth: string
  /** The canonical REST route the gateway authorised; absent for a site page, which may dispatch no REST request. */
  rte?: string | undefined
  /** With `_embed`: the caller's GET rules, which the bridge holds embedded sub-requests to. */
  emb?: { r: Array<[string, 0 | 1]>, d: 0 | 1 }
  /** For a batch: the (method, route) of each sub-request the gateway authorised. */
  bat?: Array<[string, string]>
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')

// A signed assertion is reused for the same caller, method and route for up
// to 10 s (it stays valid for 20 s more): signing costs more than the
// lookup, and the bridge would accept the reused one exactly as a new one.
const REUSE_MS = 10_000

export class AssertionSigner {
  readonly #secret: Buffer
  readonly #reusable = new ExpiringCache<string>()

  constructor (secret: Buffer) {
    this.#secret = secret
  }

  /** An assertion for these facts, freshly signed or reused (see REUSE_SECONDS). */
  assert (facts: AssertionFacts): string {
    if (facts.emb !== undefined || facts.bat !== undefined) return this.sign(facts)
    const key = `${facts.sub ?? ''}\0${facts.via}\0${facts.mth}\0${facts.rte ?? ''}`
    const hit = this.#reusable.get(key)
    if (hit !== undefined) return hit
    const now = Date.now()
    // iat is whole seconds, rounded down: the reuse window ends by iat + 10 s whatever the fraction.
    const value = this.sign(facts, Math.floor(now / 1000))
    this.#reusable.set(key, value, Math.floor(now / 1000) * 1000 + REUSE_MS)
    return value
  }

  sign (facts: AssertionFacts, now = Math.floor(Date.now() / 1000)): string {
    const claims = {
      iss: 'wp-auth-gateway',
      aud: 'wordpress-bridge',
      iat: now,
      exp: now + ASSERTION_LIFETIME_SECONDS,
      ...(facts.sub === undefined ? {} : { sub: facts.sub }),
      via: facts.via,
      mth: facts.mth,
      ...(facts.rte === undefined ? {} : { rte: facts.rte }),
      ...(facts.emb === undefined ? {} : { emb: facts.emb }),
      ...(facts.bat === undefined ? {} : { bat: facts.bat })
    }
    const input = HEADER + '.' + Buffer.from(JSON.stringify(claims)).toString('base64url')
    return input + '.' + createHmac('sha256', this.#secret).update(input).digest('base64url')
  }
}
