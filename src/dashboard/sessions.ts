import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { BridgeClient } from '../bridge/client.js'
import type { Store } from '../store/index.js'
import type { Revocations } from '../tokens/revocation.js'

// The dashboard's sessions (README, "Dashboard"): server-side records in the
// shared store, so that any replica serves them and ending one is immediate.
// The browser holds only an opaque random id in an HttpOnly cookie; the store
// holds the id's SHA-256, so a copy of the store opens no session.

/** Who a dashboard session belongs to: a WordPress administrator, or whoever holds the admin API token. */
export type DashboardPrincipal = { kind: 'user', userId: number, login: string } | { kind: 'admintoken', tokenHash: string }

export interface DashboardSession {
  principal: DashboardPrincipal
  /** The synchronizer token every change made with this session must carry (X-CSRF-Token). */
  csrf: string
  createdAt: number
  /** When WordPress last confirmed the user is an administrator (ms). */
  verifiedAt: number
  /** When the idle lifetime was last extended (ms). */
  touchedAt: number
}

export interface DashboardSettings {
  idleSeconds: number
  maxSeconds: number
  /** admin.apiTokenHash: a session the admin API token opened ends when the token is replaced. */
  adminTokenHash: string | undefined
}

const ID = /^[A-Za-z0-9_-]{43}$/
// WordPress is asked again this often whether the user is still an administrator:
// the bridge's events end a session at once; this covers a lost event.
const REVERIFY_MS = 60_000
// The idle lifetime is extended at most this often, to spare the store a write per request.
const TOUCH_MS = 15_000

const key = (id: string) => `dash:${createHash('sha256').update(id).digest('base64url')}`

export class DashboardSessions {
  readonly #store: Store
  readonly #revocations: Revocations
  readonly #bridge: BridgeClient
  readonly #settings: DashboardSettings

  constructor (store: Store, revocations: Revocations, bridge: BridgeClient, settings: DashboardSettings) {
    this.#store = store
    this.#revocations = revocations
    this.#bridge = bridge
    this.#settings = settings
  }

  get idleSeconds (): number { return this.#settings.idleSeconds }
  get maxSeconds (): number { return this.#settings.maxSeconds }

  /** A new session; the id is returned once, for the cookie. */
  async create (principal: DashboardPrincipal): Promise<{ id: string, session: DashboardSession }> {
    const id = randomBytes(32).toString('base64url')
    const now = Date.now()
    const session: DashboardSession = { principal, csrf: randomBytes(32).toString('base64url'), createdAt: now, verifiedAt: now, touchedAt: now }
    await this.#store.set(key(id), JSON.stringify(session), this.#settings.idleSeconds * 1000)
    return { id, session }
  }

  /**
   * The live session with this id, or null: unknown, idle too long, past its
   * maximum age, or its user changed in WordPress since it began (a new
   * password, roles, deletion, a logout, "log out everywhere": the cut-off
   * every replica applies to every credential) or is no administrator now.
   */
  async get (id: string): Promise<DashboardSession | null> {
    if (!ID.test(id)) return null
    const raw = await this.#store.get(key(id))
    if (raw === null) return null
    const session = JSON.parse(raw) as DashboardSession
    const now = Date.now()
    let alive = now - session.createdAt < this.#settings.maxSeconds * 1000
    if (alive && session.principal.kind === 'admintoken') alive = session.principal.tokenHash === tokenTag(this.#settings.adminTokenHash)
    if (alive && session.principal.kind === 'user') {
      const uid = session.principal.userId
      alive = !await this.#revocations.isUserCutOff(String(uid), session.createdAt)
      if (alive && now - session.verifiedAt > REVERIFY_MS) {
        const user = await this.#bridge.getUser(uid)
        alive = user !== null && user.roles.includes('administrator')
        session.verifiedAt = now
        session.touchedAt = 0
      }
    }
    if (!alive) {
      await this.#store.del(key(id))
      return null
    }
    if (now - session.touchedAt > TOUCH_MS) {
      session.touchedAt = now
      const left = Math.min(this.#settings.idleSeconds * 1000, session.createdAt + this.#settings.maxSeconds * 1000 - now)
      await this.#store.set(key(id), JSON.stringify(session), left)
    }
    return session
  }

  async end (id: string): Promise<void> {
    if (ID.test(id)) await this.#store.del(key(id))
  }
}

/** What a session opened with the admin API token remembers of it: a digest of the configured hash, never the token. */
export function tokenTag (hash: string | undefined): string {
  return hash === undefined ? '' : createHash('sha256').update(hash).digest('base64url')
}

/** Whether `given` is the session's CSRF token, compared in constant time (over digests: equal lengths). */
export function csrfMatches (session: DashboardSession, given: string | string[] | undefined): boolean {
  if (typeof given !== 'string' || given === '') return false
  const a = createHash('sha256').update(given).digest()
  const b = createHash('sha256').update(session.csrf).digest()
  return timingSafeEqual(a, b)
}

/** The actor admin actions are logged under. */
export function actorOf (principal: DashboardPrincipal): string {
  return principal.kind === 'user' ? `dashboard:user:${principal.userId}` : 'dashboard:admin-api-token'
}
