import t from 'tap'
import { hash } from '@node-rs/argon2'
import { buildTestApp, password, session, USERS } from '../helper.js'

const API_TOKEN = 'wpag_admin_' + 'k'.repeat(43)

t.test('admin routes: sessions, revocation, who may call them, and an audit line for each', async (t) => {
  const logs: string[] = []
  const app = await buildTestApp(t, { admin: { apiTokenHash: await hash(API_TOKEN) } }, { logs })
  const admin = await session(app, 'admin', password('admin'))
  const asAdmin = { authorization: `Bearer ${admin.access_token}` }
  const phone = await session(app, 'subscriber', password('subscriber'), { 'user-agent': 'TestPhone/1.0' })
  const laptop = await session(app, 'subscriber', password('subscriber'), { 'user-agent': 'TestLaptop/2.0' })
  const me = (access: string) => app.inject({ method: 'GET', url: '/wp-json/wp/v2/users/me', headers: { authorization: `Bearer ${access}` } })

  const list = await app.inject({ method: 'GET', url: `/_gateway/admin/users/${USERS.subscriber.id}/sessions`, headers: asAdmin })
  t.equal(list.statusCode, 200)
  const sessions = list.json().sessions as Array<{ id: string, user_agent: string, ip: string, created_at: string, last_used_at: string }>
  const phoneSession = sessions.find((s) => s.user_agent === 'TestPhone/1.0')
  t.ok(phoneSession, 'the phone session is listed with its user agent')
  t.ok(sessions.some((s) => s.user_agent === 'TestLaptop/2.0'))
  t.match(phoneSession, { ip: '127.0.0.1', created_at: /^\d{4}-\d\d-\d\dT/, last_used_at: /^\d{4}-/ })

  const del = await app.inject({ method: 'DELETE', url: `/_gateway/admin/users/${USERS.subscriber.id}/sessions/${phoneSession!.id}`, headers: asAdmin })
  t.equal(del.statusCode, 204)
  t.equal((await me(phone.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED', 'the phone is logged out')
  t.equal((await me(laptop.access_token)).statusCode, 200, 'the laptop is not')
  const again = await app.inject({ method: 'DELETE', url: `/_gateway/admin/users/${USERS.subscriber.id}/sessions/${phoneSession!.id}`, headers: asAdmin })
  t.equal(again.json().code, 'GW_ERR_SESSION_NOT_FOUND')
  for (const sid of ['not-a-session-id', 'x'.repeat(200)]) {
    const bad = await app.inject({ method: 'DELETE', url: `/_gateway/admin/users/${USERS.subscriber.id}/sessions/${sid}`, headers: asAdmin })
    t.equal(bad.statusCode, 404, 'a session id that cannot exist is not found')
  }

  // One token by jti, with the admin API token.
  const asApi = { authorization: `Bearer ${API_TOKEN}` }
  const [, payload] = laptop.access_token.split('.')
  const jti = JSON.parse(Buffer.from(payload!, 'base64url').toString()).jti
  const byJti = await app.inject({ method: 'POST', url: '/_gateway/admin/tokens/revoke', headers: asApi, payload: { jti } })
  t.same(byJti.json(), { revoked: true })
  t.equal((await me(laptop.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED')
  const refreshed = await app.inject({ method: 'POST', url: '/wp-json/api/v1/token/refresh', payload: { refresh_token: laptop.refresh_token } })
  t.equal(refreshed.statusCode, 200, 'revoking one access token by jti leaves its session alive')

  // One token by value.
  const byToken = await app.inject({ method: 'POST', url: '/_gateway/admin/tokens/revoke', headers: asApi, payload: { token: refreshed.json().access_token } })
  t.same(byToken.json(), { revoked: true })
  t.equal((await me(refreshed.json().access_token)).json().code, 'GW_ERR_TOKEN_REVOKED')
  t.equal((await app.inject({ method: 'POST', url: '/_gateway/admin/tokens/revoke', headers: asApi, payload: {} })).statusCode, 400)

  // Every session of a user.
  const s1 = await session(app, 'contributor', password('contributor'))
  const s2 = await session(app, 'contributor', password('contributor'))
  const all = await app.inject({ method: 'POST', url: `/_gateway/admin/users/${USERS.contributor.id}/revoke`, headers: asAdmin })
  t.ok(all.json().revoked_sessions >= 2)
  for (const s of [s1, s2]) t.equal((await me(s.access_token)).json().code, 'GW_ERR_TOKEN_REVOKED')
  t.same((await app.inject({ method: 'GET', url: `/_gateway/admin/users/${USERS.contributor.id}/sessions`, headers: asAdmin })).json(), { sessions: [] })

  // Who may not.
  const editor = await session(app, 'editor', password('editor'))
  const cases: Array<[string, Record<string, string>, number, string]> = [
    ['no credentials', {}, 401, 'GW_ERR_TOKEN_MISSING'],
    ['an editor', { authorization: `Bearer ${editor.access_token}` }, 403, 'GW_ERR_FORBIDDEN'],
    ['a wrong admin API token', { authorization: `Bearer wpag_admin_${'x'.repeat(43)}` }, 403, 'GW_ERR_FORBIDDEN'],
    ['a forged JWT', { authorization: `Bearer ${admin.access_token.slice(0, -3)}abc` }, 401, 'GW_ERR_TOKEN_INVALID']
  ]
  for (const [name, headers, status, code] of cases) {
    const res = await app.inject({ method: 'POST', url: `/_gateway/admin/users/${USERS.editor.id}/revoke`, headers })
    t.equal(res.statusCode, status, name)
    t.equal(res.json().code, code, name)
  }
  t.equal((await me(editor.access_token)).statusCode, 200, 'nothing was revoked by the refused calls')

  const audit = logs.map((l) => JSON.parse(l)).filter((l) => l.audit !== undefined).map((l) => l.audit)
  t.match(audit, [
    { action: 'sessions.list', actor: `user:${USERS.admin.id}`, target: `user:${USERS.subscriber.id}` },
    { action: 'session.revoke', actor: `user:${USERS.admin.id}` },
    { action: 'token.revoke', actor: 'admin-api-token', target: `jti:${jti}` },
    { action: 'token.revoke', actor: 'admin-api-token', revoked: true },
    { action: 'user.revoke', target: `user:${USERS.contributor.id}` },
    { action: 'sessions.list' }
  ])
  t.notOk(logs.join('\n').includes(API_TOKEN), 'the admin token never reaches the log')
})

t.test('without a configured hash, admin API tokens are refused', async (t) => {
  const app = await buildTestApp(t)
  const res = await app.inject({ method: 'GET', url: '/_gateway/admin/users/1/sessions', headers: { authorization: `Bearer ${API_TOKEN}` } })
  t.equal(res.statusCode, 403)
})
