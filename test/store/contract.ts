import type { Test } from 'tap'
import type { Store } from '../../src/store/index.js'

/** Audit entries as the writer batches them: a line each. */
const lines = (entries: string[]): Buffer => Buffer.from(entries.map((e) => `${e}\n`).join(''))

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const info = (sid: string, expiresAt: number) => JSON.stringify({ sid, userId: 7, createdAt: 1, lastUsedAt: 1, expiresAt, userAgent: '', ip: '' })

/**
 * One contract for every store implementation and topology (oauth2-proxy
 * pkg/sessions/tests): what the token machinery relies on, held to the
 * in-process store and to Redis standalone, Sentinel and Cluster.
 */
export function storeContract (t: Test, make: () => Promise<Store>): void {
  let store: Store
  t.beforeEach(async () => { store = await make() })
  t.afterEach(async () => { await store.close() })

  t.test('ping answers (and writes)', async (t) => {
    await t.resolves(store.ping())
  })

  t.test('set, get and del', async (t) => {
    t.equal(await store.get('a'), null)
    await store.set('a', 'one', 0)
    t.equal(await store.get('a'), 'one')
    await store.set('a', 'two', 0)
    t.equal(await store.get('a'), 'two', 'set overwrites')
    t.equal(await store.del('a'), true)
    t.equal(await store.del('a'), false, 'deleting twice reports nothing deleted')
    t.equal(await store.get('a'), null)
  })

  t.test('entries expire after their TTL', async (t) => {
    await store.set('short', 'x', 60)
    await store.set('long', 'y', 10_000)
    t.equal(await store.get('short'), 'x')
    await sleep(120)
    t.equal(await store.get('short'), null)
    t.equal(await store.get('long'), 'y')
  })

  t.test('setIfAbsent creates once', async (t) => {
    t.equal(await store.setIfAbsent('k', '1', 10_000), true)
    t.equal(await store.setIfAbsent('k', '2', 10_000), false)
    t.equal(await store.get('k'), '1')
  })

  t.test('incr counts and keeps the first TTL', async (t) => {
    t.equal(await store.incr('n', 80), 1)
    t.equal(await store.incr('n', 80), 2)
    t.equal(await store.incr('n', 10_000), 3, 'a later TTL does not extend the window')
    await sleep(150)
    t.equal(await store.incr('n', 80), 1, 'the counter restarts after its TTL')
  })

  t.test('a session and its refresh token', async (t) => {
    const now = Date.now()
    await store.createSession(7, 'sid-a', info('sid-a', now + 60_000), 'hash-1', 60_000)
    t.same(Object.keys(await store.sessions(7, now)), ['sid-a'])
    t.equal(await store.findRefresh(7, 'hash-1'), 'sid-a')
    t.equal(await store.findRefresh(7, 'nope'), null)
    t.same(await store.refreshState(7, 'hash-1'), { sid: 'sid-a', spent: false })
    t.equal(await store.findRefresh(8, 'hash-1'), null, 'tokens belong to their user')
    t.same(await store.sessions(8, now), {})
  })

  t.test('rotation: of many concurrent callers exactly one wins', async (t) => {
    const now = Date.now()
    await store.createSession(7, 'sid-r', info('sid-r', now + 60_000), 'h0', 60_000)
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.rotateRefresh(7, 'sid-r', 'h0', `h1-${i}`, info('sid-r', now + 60_000), 60_000)))
    t.equal(results.filter((r) => r === 'rotated').length, 1, 'one winner')
    t.equal(results.filter((r) => r === 'reused').length, 49, 'every other caller presented a spent token')
    t.same(await store.sessions(7, now), {}, 'and the reuse ended the session')
    const winner = results.indexOf('rotated')
    t.equal(await store.rotateRefresh(7, 'sid-r', `h1-${winner}`, 'h2', info('sid-r', now + 60_000), 60_000), 'invalid', 'the winner\'s new token is dead too, for good')
    t.equal(await store.findRefresh(7, 'h0'), 'sid-r', 'a spent token still names its session')
    t.same(await store.refreshState(7, 'h0'), { sid: 'sid-r', spent: true }, 'and says it was spent')
    t.same(await store.refreshState(7, 'nope'), null)
  })

  t.test('rotation of a healthy session, then reuse of the old token', async (t) => {
    const now = Date.now()
    await store.createSession(7, 'sid-h', info('sid-h', now + 60_000), 'a0', 60_000)
    t.equal(await store.rotateRefresh(7, 'sid-h', 'a0', 'a1', info('sid-h', now + 90_000), 60_000), 'rotated')
    t.equal(JSON.parse((await store.sessions(7, now))['sid-h']!).expiresAt, now + 90_000, 'the session\'s record is updated')
    t.equal(await store.rotateRefresh(7, 'sid-h', 'a1', 'a2', info('sid-h', now + 90_000), 60_000), 'rotated', 'the new token rotates in turn')
    t.equal(await store.rotateRefresh(7, 'sid-h', 'a0', 'x', info('sid-h', now + 90_000), 60_000), 'reused')
    t.equal(await store.rotateRefresh(7, 'sid-h', 'a2', 'a3', info('sid-h', now + 90_000), 60_000), 'invalid')
    t.equal(await store.rotateRefresh(7, 'sid-h', 'unknown', 'z', info('sid-h', now + 90_000), 60_000), 'invalid')
    t.equal(await store.rotateRefresh(7, 'other-sid', 'a3', 'z', info('other-sid', now + 90_000), 60_000), 'invalid', 'a token rotates only within its own session')
  })

  t.test('ending sessions', async (t) => {
    const now = Date.now()
    await store.createSession(9, 's1', info('s1', now + 60_000), 'b1', 60_000)
    await store.createSession(9, 's2', info('s2', now + 60_000), 'b2', 60_000)
    await store.createSession(9, 's3', info('s3', now + 60_000), 'b3', 60_000)
    t.equal(await store.endSession(9, 's1'), true)
    t.equal(await store.endSession(9, 's1'), false, 'once')
    t.equal(await store.rotateRefresh(9, 's1', 'b1', 'b1x', info('s1', now + 60_000), 60_000), 'invalid', 'its refresh token is dead')
    t.same((await store.endSessions(9)).sort(), ['s2', 's3'])
    t.same(await store.sessions(9, now), {})
    t.equal(await store.rotateRefresh(9, 's2', 'b2', 'b2x', info('s2', now + 60_000), 60_000), 'invalid')
    t.same(await store.endSessions(9), [], 'nothing left')
  })

  t.test('expired sessions are dropped', async (t) => {
    const now = Date.now()
    await store.createSession(11, 'old', info('old', now - 1), 'c1', 60_000)
    await store.createSession(11, 'new', info('new', now + 60_000), 'c2', 60_000)
    t.same(Object.keys(await store.sessions(11, now)), ['new'], 'the lapsed one is gone on the way')
  })

  t.test('revocations: stored and broadcast together, never shortened', async (t) => {
    const got: string[] = []
    const states: boolean[] = []
    const unsubscribe = await store.subscribe((m) => got.push(m), (up) => states.push(up))
    t.same(states, [true], 'the subscription reports itself up')
    await store.revoke([['jti:a', '2000000000000'], ['sid:b', '2000000000001']])
    for (let i = 0; i < 100 && got.length < 1; i++) await sleep(10)
    t.same(got, ['jti:a|2000000000000\nsid:b|2000000000001'], 'one message for one revocation')
    t.same(await store.revocations(), { 'jti:a': '2000000000000', 'sid:b': '2000000000001' })
    t.same(await store.revocationsOf(['sid:b', 'zz']), ['2000000000001', null])
    await store.revoke([['jti:a', '1000']])
    t.equal((await store.revocations())['jti:a'], '2000000000000', 'a later, shorter entry does not shorten it')
    // A Cluster carries messages between nodes on its bus: they may arrive a little later.
    for (let i = 0; i < 100 && got.length < 2; i++) await sleep(10)
    t.equal(got.length, 2, 'it is announced all the same')
    await store.pruneRevocations(['jti:a'])
    t.same(await store.revocations(), { 'sid:b': '2000000000001' })
    await unsubscribe()
    await store.revoke([['jti:c', '2000000000002']])
    await sleep(50)
    t.equal(got.length, 2, 'nothing after unsubscribe')
  })

  t.test('the generation is made once and then kept', async (t) => {
    const first = await store.generation('gen-1', 1_700_000_000_000)
    t.same(first, { id: 'gen-1', since: 1_700_000_000_000 })
    t.same(await store.generation('gen-2', 1_800_000_000_000), first, 'a second candidate is not taken')
  })

  t.test('catalogs: records stored and announced together, deletions too', async (t) => {
    const got: string[] = []
    const revoked: string[] = []
    const unsubscribe = await store.subscribe((m) => got.push(m), undefined, 'catalogs')
    const unsubscribeRevocations = await store.subscribe((m) => revoked.push(m))
    await store.putRecord('apikeys', 'k1', '{"a":1}')
    await store.putRecord('apikeys', 'k2', '{"a":2}')
    await store.putRecord('clients', 'k1', '{"c":1}')
    for (let i = 0; i < 100 && got.length < 3; i++) await sleep(10)
    // In order within a catalog; a Cluster may deliver two catalogs' announcements (two slots, two nodes) in either order.
    t.same(got.filter((m) => m.startsWith('apikeys\n')), ['apikeys\nk1\n{"a":1}', 'apikeys\nk2\n{"a":2}'], 'each change announced with its record, in order')
    t.same(got.filter((m) => m.startsWith('clients\n')), ['clients\nk1\n{"c":1}'])
    t.same(revoked, [], 'not on the revocation channel')
    t.same(await store.records('apikeys'), { k1: '{"a":1}', k2: '{"a":2}' }, 'catalogs are kept apart')
    t.same(await store.recordsOf('apikeys', ['k2', 'nope']), ['{"a":2}', null])
    await store.setNotes('apikeys', [['k1', 'used'], ['k2', 'also']])
    t.same(await store.notes('apikeys', ['k1', 'k2', 'nope']), ['used', 'also', null])
    t.same(await store.deleteRecords('apikeys', ['k1', 'nope']), ['k1'], 'reports what existed')
    for (let i = 0; i < 100 && got.length < 5; i++) await sleep(10)
    t.same(got.slice(3), ['apikeys\nk1\n', 'apikeys\nnope\n'], 'deletions announced with an empty record')
    t.same(await store.records('apikeys'), { k2: '{"a":2}' })
    t.same(await store.notes('apikeys', ['k1']), [null], 'a deleted record takes its notes with it')
    t.same(await store.records('clients'), { k1: '{"c":1}' })
    t.equal(await store.putRecord('apikeys', 'k1', '{"a":3}', true), false, 'an update does not bring back a deleted record')
    t.equal(await store.putRecord('apikeys', 'k2', '{"a":4}', true), true, 'but updates one that is there')
    t.same(await store.records('apikeys'), { k2: '{"a":4}' })
    await unsubscribe()
    await unsubscribeRevocations()
  })

  t.test('the audit stream: appended in order, read newest first within bounds, trimmed by length and age', async (t) => {
    const before = Date.now()
    await store.appendAudit(lines(['a', 'b', 'c']), 1000, 0)
    const all = await store.readAudit({}, 10)
    t.same(all.map(([, e]) => e), ['c', 'b', 'a'], 'newest first')
    const [c, b, a] = all.map(([id]) => id) as [string, string, string]
    t.match(a, /^\d+-\d+$/, 'ids are <ms>-<seq>')
    t.ok(Number(a.split('-')[0]) >= before - 1000 && Number(a.split('-')[0]) <= Date.now() + 1000, 'stamped with the time')
    t.same((await store.readAudit({ before: c }, 10)).map(([id]) => id), [b, a], 'before is exclusive: a cursor')
    t.same((await store.readAudit({ after: a }, 10)).map(([, e]) => e), ['c', 'b'], 'after is exclusive')
    t.same((await store.readAudit({ before: c, after: a }, 10)).map(([, e]) => e), ['b'])
    t.same((await store.readAudit({}, 1)).map(([, e]) => e), ['c'], 'count caps the page')
    const time = (id: string) => Number(id.split('-')[0])
    t.same((await store.readAudit({ from: time(a), to: time(c) }, 10)).length, 3, 'times are inclusive')
    t.same(await store.readAudit({ from: time(c) + 60_000 }, 10), [], 'nothing after the newest')
    t.same(await store.readAudit({ to: time(a) - 1 }, 10), [], 'nothing before the oldest')
    t.same((await store.readAudit({ before: c, to: time(c) + 60_000 }, 10)).map(([, e]) => e), ['b', 'a'], 'the tighter of cursor and time wins')

    await store.appendAudit(lines(Array.from({ length: 300 }, (_, i) => `n${i}`)), 10, 0)
    const trimmed = await store.readAudit({}, 1000)
    t.equal(trimmed[0]![1], 'n299', 'the newest entry is kept')
    t.ok(trimmed.length >= 10 && trimmed.length < 303, `trimmed to about 10 entries (Redis trims whole nodes): ${trimmed.length}`)

    await store.appendAudit(lines(['late']), 1000, Date.now() + 60_000)
    t.same(await store.readAudit({}, 10), [], 'entries older than the age bound go, the new one too when it is older')
  })
}
