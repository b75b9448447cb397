import { createHash, randomBytes } from 'node:crypto'
import { Type, type Static, type TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { RefreshTokenInvalid, RefreshTokenReused } from '../errors.js'
import type { FastifyBaseLogger } from 'fastify'
import type { Store } from '../store/index.js'
import type { RevocationKind, Revocations } from './revocation.js'

// Sessions and their refresh tokens (docs/architecture.md §6). One login makes
// one session (a refresh-token family, `sid`); every refresh rotates the
// token within it, in one atomic step in the store. Refresh tokens are
// `<uid>.<sid>.<256 random bits>`, stored only as SHA-256 hashes; the user id
// in front keeps everything of one user in one place (one Cluster slot). A
// token presented a second time ends its whole session, for good, and the
// access tokens of that session with it (RFC 9700 §4.14.2).
//
// Ending a session is one write: its entry in the revocation list, which
// lives as long as its refresh token could, so that neither its access
// tokens nor a rotation are accepted again, on any replica. Removing the
// session from the user's index afterwards is housekeeping: the two live in
// different places (Cluster slots), and a revocation must either happen
// completely or not at all.

export const SessionInfo = Type.Object({
  sid: Type.String(),
  userId: Type.Integer(),
  createdAt: Type.Integer(),
  lastUsedAt: Type.Integer(),
  expiresAt: Type.Integer(),
  userAgent: Type.String(),
  ip: Type.String(),
  /** Sessions begun by an OAuth client's password grant: only that client may refresh them, within these scopes. */
  clientId: Type.Optional(Type.String()),
  scopes: Type.Optional(Type.Array(Type.String()))
})
export type SessionInfo = Static<typeof SessionInfo>

const REFRESH_TOKEN = /^([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{22})\.[A-Za-z0-9_-]{43}$/

export interface ClientInfo { userAgent: string, ip: string }

/** The OAuth client a session is bound to, and the scopes it was granted. */
export interface SessionGrant { clientId: string, scopes?: readonly string[] | undefined }

export interface SessionSettings {
  refreshTtlSeconds: number
  /** How long a revoked session's access tokens could still be presented. */
  accessTtlSeconds: number
  clockToleranceSeconds: number
}

const hash = (token: string) => createHash('sha256').update(token).digest('base64url')

export class Sessions {
  readonly #store: Store
  readonly #revocations: Revocations
  readonly #settings: SessionSettings
  readonly #log: FastifyBaseLogger

  constructor (store: Store, revocations: Revocations, settings: SessionSettings, log: FastifyBaseLogger) {
    this.#store = store
    this.#revocations = revocations
    this.#settings = settings
    this.#log = log
  }

  get refreshTtlSeconds (): number { return this.#settings.refreshTtlSeconds }

  /** A new session for a user who just proved themselves; returns its first refresh token. */
  async create (uid: number, client: ClientInfo, grant?: SessionGrant): Promise<{ sid: string, refreshToken: string }> {
    const sid = randomBytes(16).toString('base64url')
    const now = Date.now()
    const bound = grant === undefined ? {} : { clientId: grant.clientId, ...(grant.scopes === undefined ? {} : { scopes: [...grant.scopes] }) }
    const info: SessionInfo = { sid, userId: uid, createdAt: now, lastUsedAt: now, expiresAt: now + this.#ttlMs(), ...trim(client), ...bound }
    const refreshToken = newToken(uid, sid)
    await this.#store.createSession(uid, sid, JSON.stringify(info), hash(refreshToken), this.#ttlMs())
    return { sid, refreshToken }
  }

  /**
   * Spends a refresh token. Of concurrent callers exactly one succeeds; a
   * token already spent ends its session, whose access tokens are then
   * revoked (a 503 here leaves the session ended, and a retry completes it).
   * A session bound to an OAuth client rotates only for that client
   * (`clientId`), and one that is not only without it (RFC 6749 §6); `check`
   * may refuse the request by the session's record before anything is spent.
   */
  async rotate (token: string, client: ClientInfo, clientId?: string, check?: (info: SessionInfo) => void): Promise<{ sid: string, uid: number, refreshToken: string, info: SessionInfo | undefined }> {
    const m = REFRESH_TOKEN.exec(token)
    if (m === null) throw new RefreshTokenInvalid()
    const uid = Number(m[1])
    const sid = m[2]!
    if (await this.#revocations.isSessionRevoked(sid)) {
      await this.#housekeeping(() => this.#store.endSession(uid, sid))
      throw new RefreshTokenInvalid()
    }
    const now = Date.now()
    const current = parseInfo((await this.#store.sessions(uid, now))[sid])
    // A session begun before the user's cut-off (made while "log out everywhere" ran) ends too.
    if (current !== undefined && await this.#revocations.isUserCutOff(String(uid), current.createdAt)) {
      await this.#revocations.revoke([['sid', sid, this.#sessionDeadAt()]])
      await this.#housekeeping(() => this.#store.endSession(uid, sid))
      throw new RefreshTokenInvalid()
    }
    // Refused without spending the token: presented by the wrong party, it says nothing about its session.
    if (current?.clientId !== clientId) throw new RefreshTokenInvalid()
    if (current !== undefined) check?.(current)
    const info = current === undefined ? '' : JSON.stringify({ ...current, ...trim(client), lastUsedAt: now, expiresAt: now + this.#ttlMs() })
    const next = newToken(uid, sid)
    switch (await this.#store.rotateRefresh(uid, sid, hash(token), hash(next), info, this.#ttlMs())) {
      case 'rotated': return { uid, sid, refreshToken: next, info: current }
      case 'invalid': throw new RefreshTokenInvalid()
      case 'reused':
        await this.#revocations.revoke([['sid', sid, this.#sessionDeadAt()]])
        throw new RefreshTokenReused()
    }
  }

  /** The session a refresh token belongs to, without spending it (for revocation). */
  async lookup (token: string): Promise<{ sid: string, uid: number } | undefined> {
    const m = REFRESH_TOKEN.exec(token)
    if (m === null) return undefined
    const uid = Number(m[1])
    const sid = await this.#store.findRefresh(uid, hash(token))
    return sid === null ? undefined : { sid, uid }
  }

  /** A refresh token's session, whether it is still usable, and its record (introspection, RFC 7662). */
  async describe (token: string): Promise<{ sid: string, uid: number, active: boolean, info: SessionInfo | undefined } | undefined> {
    const m = REFRESH_TOKEN.exec(token)
    if (m === null) return undefined
    const uid = Number(m[1])
    const state = await this.#store.refreshState(uid, hash(token))
    if (state === null) return undefined
    const info = parseInfo((await this.#store.sessions(uid, Date.now()))[state.sid])
    const active = !state.spent && info !== undefined && !await this.#revocations.isSessionRevoked(state.sid) &&
      !await this.#revocations.isUserCutOff(String(uid), info.createdAt)
    return { sid: state.sid, uid, active, info }
  }

  /**
   * Ends a session (and revokes any single tokens named with it) in one
   * write, everywhere: its access tokens and its refresh token are refused
   * from then on. Safe to repeat.
   */
  async revoke (uid: number, sid: string, tokens: ReadonlyArray<readonly [RevocationKind, string, number]> = []): Promise<void> {
    await this.#revocations.revoke([['sid', sid, this.#sessionDeadAt()], ...tokens])
    await this.#housekeeping(() => this.#store.endSession(uid, sid))
  }

  /**
   * Ends every session of a user, and cuts off every credential of theirs
   * issued or verified before now (Basic, API keys, cookies, tokens of
   * clients): "log out everywhere", a password change, a deletion.
   */
  async revokeUser (uid: number): Promise<number> {
    const sids = Object.keys(await this.#store.sessions(uid, Date.now()))
    const until = this.#sessionDeadAt()
    await this.#revocations.revoke([['usr', String(uid), until], ...sids.map((sid) => ['sid', sid, until] as const)])
    await this.#housekeeping(() => this.#store.endSessions(uid))
    return sids.length
  }

  /** The user's live sessions (ended ones may linger in the index until housekeeping catches up: they are left out). */
  async list (uid: number): Promise<SessionInfo[]> {
    const all = await this.#store.sessions(uid, Date.now())
    const live: SessionInfo[] = []
    for (const raw of Object.values(all)) {
      const info = parseInfo(raw)
      if (info !== undefined && !await this.#revocations.isSessionRevoked(info.sid)) live.push(info)
    }
    return live.sort((a, b) => b.lastUsedAt - a.lastUsedAt)
  }

  /** Work that only tidies up after a revocation that is already complete: a failure is logged, not passed on. */
  async #housekeeping (work: () => Promise<unknown>): Promise<void> {
    try {
      await work()
    } catch (err) {
      this.#log.warn({ err }, 'a revoked session could not be removed from its user\'s index; it stays refused')
    }
  }

  #ttlMs (): number {
    return this.#settings.refreshTtlSeconds * 1000
  }

  /** Until when an ended session's entry must live: as long as any of its tokens, refresh or access, could be presented. */
  #sessionDeadAt (): number {
    const { refreshTtlSeconds, accessTtlSeconds, clockToleranceSeconds } = this.#settings
    return Date.now() + (Math.max(refreshTtlSeconds, accessTtlSeconds) + clockToleranceSeconds) * 1000
  }
}

const newToken = (uid: number, sid: string) => `${uid}.${sid}.${randomBytes(32).toString('base64url')}`

function parse<T extends TSchema> (schema: T, raw: string | undefined): Static<T> | undefined {
  if (raw === undefined) return undefined
  try {
    const v: unknown = JSON.parse(raw)
    return Value.Check(schema, v) ? v : undefined
  } catch {
    return undefined
  }
}

const parseInfo = (raw: string | undefined) => parse(SessionInfo, raw)

function trim (client: ClientInfo): ClientInfo {
  return { userAgent: client.userAgent.slice(0, 256), ip: client.ip.slice(0, 64) }
}
