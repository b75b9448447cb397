import t from 'tap'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, EVENTS_PORT, login, USERS, WP_DIR, usersToDelete } from '../helper.js'
import type { ProvisionPolicy, ProvisionRequest } from '../../src/providers/provisioning.js'

// WordPress users for people identity providers vouch for, found or made by
// the bridge's users/provision route in the real test WordPress.

const LOAD = join(WP_DIR, 'load.php')
const php = async (code: string) => (await promisify(execFile)('php', ['-r', `require '${LOAD}'; ${code}`])).stdout

const POLICY: ProvisionPolicy = { create: true, linkByEmail: false, updateRoles: true, defaultRole: 'subscriber' }
const person = (over: Partial<ProvisionRequest> = {}): ProvisionRequest => {
  const id = randomBytes(5).toString('hex')
  return { provider: 'test-idp', subject: `sub-${id}`, email: `p-${id}@idp.example`, emailVerified: true, displayName: `Person ${id}`, roles: null, ...over }
}

/** Counts the bridge's provisioning calls; the real bridge still answers every one. */
function countCalls (app: FastifyInstance): { count: number } {
  const counter = { count: 0 }
  const real = app.bridge.provision.bind(app.bridge)
  app.bridge.provision = async (...args) => { counter.count++; return await real(...args) }
  return counter
}

t.test('a person seen for the first time gets a WordPress user with the mapped role; later tokens find the same user without asking WordPress', async (t) => {
  const app = await buildTestApp(t)
  const made = usersToDelete(t, app)
  const calls = countCalls(app)
  const p = person({ roles: ['author'] })
  const user = await app.provisioning.resolve(p, POLICY)
  made(user.id)
  t.same(user.roles, ['author'])
  t.equal(user.email, p.email)
  t.match(user.login, /^p-[0-9a-f]+$/, 'the login comes from the email')
  t.equal(user.display_name, p.displayName)
  const again = await app.provisioning.resolve(p, POLICY)
  t.equal(again.id, user.id)
  t.equal(calls.count, 1, 'the second token cost no bridge call')

  const other = await buildTestApp(t, {}, { store: app.store })
  t.equal((await other.provisioning.resolve(p, POLICY)).id, user.id, 'another replica finds the same user by the stored link')

  const unknownRole = await app.provisioning.resolve(person({ roles: ['no-such-role'] }), POLICY)
  made(unknownRole.id)
  t.same(unknownRole.roles, ['subscriber'], 'a role the site does not have falls back to the default')
})

t.test('the same person arriving at once is made once', async (t) => {
  const app = await buildTestApp(t)
  const made = usersToDelete(t, app)
  const calls = countCalls(app)
  const p = person()
  const users = await Promise.all(Array.from({ length: 5 }, async () => await app.provisioning.resolve(p, POLICY)))
  made(users[0]!.id)
  t.same(new Set(users.map((u) => u.id)).size, 1)
  t.equal(calls.count, 1)
})

t.test('linking to an existing user by email: only when allowed and verified', async (t) => {
  const app = await buildTestApp(t)
  t.teardown(async () => { await php(`delete_user_meta(${USERS.author.id}, '_wpag_provider_link');`) })
  const p = person({ email: 'author@example.test', emailVerified: false })
  await t.rejects(app.provisioning.resolve(p, POLICY), { code: 'GW_ERR_EMAIL_IN_USE', statusCode: 403 }, 'linking off: no second user with the same email either')
  await t.rejects(app.provisioning.resolve(p, { ...POLICY, linkByEmail: true }), { code: 'GW_ERR_EMAIL_NOT_VERIFIED', statusCode: 403 })
  const linked = await app.provisioning.resolve({ ...p, emailVerified: true }, { ...POLICY, linkByEmail: true, updateRoles: false })
  t.equal(linked.id, USERS.author.id, 'a verified email links')
  t.same(linked.roles, ['author'], 'and the user keeps their roles when the provider does not update them')
  const fresh = await buildTestApp(t)
  t.equal((await fresh.provisioning.resolve({ ...p, email: 'changed@idp.example' }, POLICY)).id, USERS.author.id, 'from then on the link finds the user, whatever the email says')
})

t.test('with creation off, a person without a linked user is refused', async (t) => {
  const app = await buildTestApp(t)
  await t.rejects(app.provisioning.resolve(person(), { ...POLICY, create: false }), { code: 'GW_ERR_USER_NOT_PROVISIONED', statusCode: 403 })
})

t.test('roles follow the token when the provider updates them, without cutting off the user; a change in WordPress is seen at once', async (t) => {
  const app = await buildTestApp(t)
  await app.listen({ port: EVENTS_PORT, host: '127.0.0.1' })
  const made = usersToDelete(t, app)
  const p = person({ roles: ['author'] })
  const user = await app.provisioning.resolve(p, POLICY)
  made(user.id)
  const before = Date.now()
  const promoted = await app.provisioning.resolve({ ...p, roles: ['editor'] }, POLICY)
  t.same(promoted.roles, ['editor'], 'a token mapping other roles updates them')
  t.notOk(await app.revocations.isUserCutOff(String(user.id), before), 'the gateway\'s own change sent no event that would refuse the token asking for it')
  t.same((await app.provisioning.resolve({ ...p, roles: ['author'] }, { ...POLICY, updateRoles: false })).roles, ['editor'], 'with updates off, the roles stay')

  const admin = { authorization: `Bearer ${await login(app, 'admin')}` }
  const demoted = await app.inject({ method: 'POST', url: `/wp-json/wp/v2/users/${user.id}`, headers: admin, payload: { roles: ['contributor'] } })
  t.equal(demoted.statusCode, 200)
  t.same((await app.provisioning.resolve({ ...p, roles: ['author'] }, { ...POLICY, updateRoles: false })).roles, ['contributor'], 'a role change in WordPress is seen by the next token')

  const deleted = await app.inject({ method: 'DELETE', url: `/wp-json/wp/v2/users/${user.id}?force=true&reassign=1`, headers: admin })
  t.equal(deleted.statusCode, 200)
  const remade = await app.provisioning.resolve(p, POLICY)
  made(remade.id)
  t.not(remade.id, user.id, 'a deleted user is not served from memory: the person gets a new user')
})
