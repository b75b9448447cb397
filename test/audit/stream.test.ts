import t from 'tap'
import { AuditStream, type AuditRecord } from '../../src/audit/stream.js'
import { MemoryStore } from '../../src/store/memory.js'

// The writer keeps entries as JSON lines in buffers outside the heap
// (src/audit/stream.ts): what goes in must come out of the store unchanged,
// whatever its characters and size, batch by batch.

const silent = { info () {}, warn () {} } as unknown as ConstructorParameters<typeof AuditStream>[2]
const OPTS = { maxEntries: 100_000, retentionMs: 3_600_000, flushMs: 60_000, bufferEntries: 50_000 }

t.test('entries come back as recorded: non-ASCII, newlines inside strings, larger than a buffer', async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const stream = new AuditStream(store, OPTS, silent)
  const written: number[] = []
  stream.onWritten = (n) => { written.push(n) }
  const records: AuditRecord[] = [
    { kind: 'request', t: 1, route: '/wp/v2/posts', user_agent: 'Überagent ☃ 𝄞 日本語' },
    { kind: 'admin', t: 2, action: 'x', target: 'line one\nline two\r\n', detail: { note: '"quoted" \\ backslash' } },
    { kind: 'event', t: 3, action: 'big', detail: { blob: 'é'.repeat(200_000) } },
    { kind: 'request', t: 4, route: '/after/the/big/one' }
  ]
  for (const r of records) stream.record(r)
  await stream.flush()
  const stored = (await store.readAudit({}, 10)).map(([, e]) => JSON.parse(e) as AuditRecord).reverse()
  t.same(stored, records, 'every entry, byte for byte, in order')
  t.equal(written.reduce((a, b) => a + b, 0), 4, 'all counted as written')
})

t.test('a full batch of 500 goes at once; the rest waits for the timer or a flush', async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const stream = new AuditStream(store, OPTS, silent)
  for (let i = 0; i < 1200; i++) stream.record({ kind: 'request', t: i, route: `/r/${i}` })
  await new Promise((resolve) => setImmediate(resolve))
  const early = (await store.readAudit({}, 5000)).length
  t.ok(early >= 500 && early < 1200, `full batches written without waiting for the timer (${early})`)
  await stream.flush()
  const all = (await store.readAudit({}, 5000)).map(([, e]) => (JSON.parse(e) as AuditRecord).t).reverse()
  t.same(all, Array.from({ length: 1200 }, (_, i) => i), 'all 1200, in order')
})

t.test('beyond bufferEntries waiting, entries are dropped and counted', async (t) => {
  const store = new MemoryStore()
  t.teardown(() => store.close())
  const stream = new AuditStream(store, { ...OPTS, bufferEntries: 100 }, silent)
  let dropped = 0
  stream.onDropped = (reason, n) => { if (reason === 'overflow') dropped += n }
  for (let i = 0; i < 150; i++) stream.record({ kind: 'request', t: i })
  t.equal(dropped, 50)
  await stream.flush()
  t.equal((await store.readAudit({}, 1000)).length, 100)
})
