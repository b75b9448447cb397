import { createHash, randomBytes } from 'node:crypto'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { RefreshTokenInvalid, RefreshTokenReused } from '../errors.js'
import type { Store } from '../store/index.js'
import type { Revocations } from './revocation.js'

// Sessions and their refresh tokens (docs/architecture.md §6). One login makes one session
// (a refresh-token family, `sid`); every refresh rotates the token within it.
// Refresh tokens are `<sid>.<256 random bits>` and stored only as SHA-256
// hashes. A token presented a second time ends its whole session, and the
// access tokens of that session with it (RFC 9700 §4.14.2).

export const SessionInfo = Type.Object({
  sid: Type.String(),
  userId: Type.Integer(),
  createdAt: Type.Integer(),
  lastUsedAt: Type.Integer(),
  expiresAt: Type.Integer(),
  userAgent: Type.String(),
  ip: Type.String()
})
export type SessionInfo = Static<typeof SessionInfo>

const RefreshRecord = Type.Object({ sid: Type.String(), uid: Type.Integer() })
type RefreshRecord = Static<typeof RefreshRecord>

const REFRESH_TOKEN = /^([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/
const USED = 'used:'

export interface ClientInfo { userAgent: string, ip: string }

export interface SessionSettings {
  refreshTtlSeconds: number
  /** How long a revoked session's access tokens could still be presented. */
  accessTtlSeconds: number
  clockToleranceSeconds: number
}

const refreshKey = (token: string) => 'rt:' + createHash('sha256').update(token).digest('base64url')
const sessionsKey = (uid: number) => `sessions:${uid}`

export class Sessions {
  readonly #store: Store
  readonly #revocations: Revocations
  readonly #settings: SessionSettings

  constructor (store: Store, revocations: Revocations, settings: SessionSettings) {
    this.#store = store
    this.#revocations = revocations
    this.#settings = settings
  }

  get refreshTtlSeconds (): number { return this.#settings.refreshTtlSeconds }

  /** A new session for a user who just proved themselves; returns its first refresh token. */
  async create (uid: number, client: ClientInfo): Promise<{ sid: string, refreshToken: string }> {
    const sid = randomBytes(16).toString('base64url')
    const now = Date.now()
    const info: SessionInfo = { sid, userId: uid, createdAt: now, lastUsedAt: now, expiresAt: now + this.#settings.refreshTtlSeconds * 1000, ...trim(client) }
    await this.#store.hset(sessionsKey(uid), sid, JSON.stringify(info))
    return { sid, refreshToken: await this.#newRefreshToken({ sid, uid }) }
  }

  /**
   * Spends a refresh token. Of concurrent callers exactly one succeeds (an
   * atomic claim in the store); a token already spent ends its session.
   */
  async rotate (token: string, client: ClientInfo): Promise<{ sid: string, uid: number, refreshToken: string }> {
    if (!REFRESH_TOKEN.test(token)) throw new RefreshTokenInvalid()
    const prev = await this.#store.claim(refreshKey(token), USED, USED, this.#settings.refreshTtlSeconds * 1000)
    if (prev === null) throw new RefreshTokenInvalid()
    if (prev.startsWith(USED)) {
      const spent = parseRecord(prev.slice(USED.length))
      if (spent !== undefined) await this.revoke(spent.uid, spent.sid)
      throw new RefreshTokenReused()
    }
    const record = parseRecord(prev)
    if (record === undefined) throw new RefreshTokenInvalid()
    const raw = await this.#store.hget(sessionsKey(record.uid), record.sid)
    const info = raw === null ? undefined : parseInfo(raw)
    if (info === undefined) throw new RefreshTokenInvalid() // the session was revoked
    const now = Date.now()
    await this.#store.hset(sessionsKey(record.uid), record.sid, JSON.stringify({ ...info, ...trim(client), lastUsedAt: now, expiresAt: now + this.#settings.refreshTtlSeconds * 1000 }))
    return { ...record, refreshToken: await this.#newRefreshToken(record) }
  }

  /** The session a refresh token belongs to, without spending it (for revocation). */
  async lookup (token: string): Promise<{ sid: string, uid: number } | undefined> {
    if (!REFRESH_TOKEN.test(token)) return undefined
    const raw = await this.#store.get(refreshKey(token))
    return raw === null ? undefined : parseRecord(raw.startsWith(USED) ? raw.slice(USED.length) : raw)
  }

  /** Ends a session: its refresh token stops working and its access tokens are refused. */
  async revoke (uid: number, sid: string): Promise<void> {
    await this.#revocations.revoke('sid', sid, this.#accessTokensDeadAt())
    await this.#store.hdel(sessionsKey(uid), [sid])
  }

  /** Ends every session of a user ("log out everywhere"). */
  async revokeUser (uid: number): Promise<number> {
    const sids = Object.keys(await this.#store.hgetall(sessionsKey(uid)))
    for (const sid of sids) await this.#revocations.revoke('sid', sid, this.#accessTokensDeadAt())
    await this.#store.del(sessionsKey(uid))
    return sids.length
  }

  async list (uid: number): Promise<SessionInfo[]> {
    const all = await this.#store.hgetall(sessionsKey(uid))
    const now = Date.now()
    const live: SessionInfo[] = []
    const expired: string[] = []
    for (const [sid, raw] of Object.entries(all)) {
      const info = parseInfo(raw)
      if (info === undefined || info.expiresAt <= now) expired.push(sid)
      else live.push(info)
    }
    await this.#store.hdel(sessionsKey(uid), expired)
    return live.sort((a, b) => b.lastUsedAt - a.lastUsedAt)
  }

  async #newRefreshToken (record: RefreshRecord): Promise<string> {
    const token = `${record.sid}.${randomBytes(32).toString('base64url')}`
    await this.#store.set(refreshKey(token), JSON.stringify(record), this.#settings.refreshTtlSeconds * 1000)
    return token
  }

  #accessTokensDeadAt (): number {
    return Date.now() + (this.#settings.accessTtlSeconds + this.#settings.clockToleranceSeconds) * 1000
  }
}

function parse<T extends TSchema> (schema: T, raw: string): Static<T> | undefined {
  try {
    const v: unknown = JSON.parse(raw)
    return Value.Check(schema, v) ? v : undefined
  } catch {
    return undefined
  }
}

const parseRecord = (raw: string) => parse(RefreshRecord, raw)
const parseInfo = (raw: string) => parse(SessionInfo, raw)

function trim (client: ClientInfo): ClientInfo {
  return { userAgent: client.userAgent.slice(0, 256), ip: client.ip.slice(0, 64) }
}
