import { createHmac, timingSafeEqual } from 'node:crypto'
import { EventUnauthenticated } from '../errors.js'
import type { Store } from '../store/index.js'

// Events from WordPress (DESIGN §4): the bridge signs them with BRIDGE_SECRET
// the way the gateway signs its assertions, with iss and aud swapped, and a
// jti so a captured event cannot be replayed.

export const EVENTS_PATH = '/_gateway/events'
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
const MAX_LIFETIME = 30
const CLOCK_SKEW = 5

interface EventClaims { iss: unknown, aud: unknown, iat: unknown, exp: unknown, via: unknown, mth: unknown, rte: unknown, jti: unknown }

export class EventVerifier {
  readonly #secret: Buffer
  readonly #store: Store

  constructor (secret: Buffer, store: Store) {
    this.#secret = secret
    this.#store = store
  }

  /** Throws EventUnauthenticated unless the header is a fresh, unused bridge assertion. */
  async verify (assertion: string | string[] | undefined, now = Math.floor(Date.now() / 1000)): Promise<void> {
    if (typeof assertion !== 'string' || assertion.length > 4096) throw new EventUnauthenticated()
    const [header, payload, signature, extra] = assertion.split('.')
    if (header !== HEADER || payload === undefined || signature === undefined || extra !== undefined) throw new EventUnauthenticated()
    const expected = createHmac('sha256', this.#secret).update(`${header}.${payload}`).digest()
    const given = Buffer.from(signature, 'base64url')
    if (given.length !== expected.length || !timingSafeEqual(given, expected) || given.toString('base64url') !== signature) throw new EventUnauthenticated()
    let c: EventClaims
    try {
      c = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
    } catch {
      throw new EventUnauthenticated()
    }
    const fresh = typeof c.iat === 'number' && typeof c.exp === 'number' && c.exp > now && c.iat <= now + CLOCK_SKEW && c.exp - c.iat <= MAX_LIFETIME
    const bound = c.iss === 'wordpress-bridge' && c.aud === 'wp-auth-gateway' && c.via === 'bridge' && c.mth === 'POST' && c.rte === EVENTS_PATH
    if (!fresh || !bound || typeof c.jti !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(c.jti)) throw new EventUnauthenticated()
    if (!await this.#store.setIfAbsent(`event-jti:${c.jti}`, '1', (MAX_LIFETIME + CLOCK_SKEW) * 1000)) throw new EventUnauthenticated()
  }
}
