import { createHmac, timingSafeEqual } from 'node:crypto'
import { EventUnauthenticated } from '../errors.js'
import type { Store } from '../store/index.js'

// Events from WordPress (docs/architecture.md §5). The bridge signs the whole event with
// BRIDGE_SECRET (class-wpag-events.php, WPAG_Events::sign): type and user in
// the signed claims, with a single-use jti, so a signature made for one event
// cannot carry another, and a captured event cannot be replayed.

export const EVENTS_PATH = '/_gateway/events'
export const EVENT_TYPES = ['password_changed', 'roles_changed', 'user_deleted', 'logout'] as const
export type EventType = typeof EVENT_TYPES[number]
export interface BridgeEvent { type: EventType, userId: number }

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url')
const MAX_LIFETIME = 30
const CLOCK_SKEW = 5

interface EventClaims { iss: unknown, aud: unknown, iat: unknown, exp: unknown, via: unknown, mth: unknown, rte: unknown, jti: unknown, evt: unknown, uid: unknown }

export class EventVerifier {
  readonly #secret: Buffer
  readonly #store: Store

  constructor (secret: Buffer, store: Store) {
    this.#secret = secret
    this.#store = store
  }

  /**
   * The event the header signs, once: throws EventUnauthenticated unless it is
   * a fresh, unused bridge event whose signed type and user are the body's.
   */
  async verify (assertion: string | string[] | undefined, body: { type: string, user_id: number }, now = Math.floor(Date.now() / 1000)): Promise<BridgeEvent> {
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
    const event = EVENT_TYPES.includes(c.evt as EventType) && Number.isSafeInteger(c.uid) && (c.uid as number) > 0
    if (!fresh || !bound || !event || typeof c.jti !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(c.jti)) throw new EventUnauthenticated()
    // The body says the same as the signature, or nothing is done.
    if (body.type !== c.evt || body.user_id !== c.uid) throw new EventUnauthenticated()
    if (!await this.#store.setIfAbsent(`event-jti:${c.jti}`, '1', (MAX_LIFETIME + CLOCK_SKEW) * 1000)) throw new EventUnauthenticated()
    return { type: c.evt as EventType, userId: c.uid as number }
  }
}
