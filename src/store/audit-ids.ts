import type { AuditRange } from './store.js'

// Audit stream ids as Redis makes them (`<ms>-<seq>`), so that both stores
// answer a range the same way: ids compare by time, then by sequence.

const ID = /^(\d{1,15})-(\d{1,15})$/

function parts (id: string): [number, number] {
  const m = ID.exec(id)
  if (m === null) throw new Error(`not an audit id: ${id}`)
  return [Number(m[1]), Number(m[2])]
}

export const auditIdTime = (id: string): number => parts(id)[0]

export function compareAuditIds (a: string, b: string): number {
  const [am, as] = parts(a)
  const [bm, bs] = parts(b)
  return am - bm || as - bs
}

/**
 * The range as XREVRANGE's end and start: the tighter of the cursor and the
 * time on each side (`(` makes an id exclusive; a bare time is inclusive,
 * every sequence of that millisecond).
 */
export function streamBounds (range: AuditRange): { end: string, start: string } {
  const { before, after, from, to } = range
  const end = before !== undefined && (to === undefined || auditIdTime(before) <= to) ? `(${before}` : to !== undefined ? String(to) : '+'
  const start = after !== undefined && (from === undefined || auditIdTime(after) >= from) ? `(${after}` : from !== undefined ? String(from) : '-'
  return { end, start }
}

/** Whether an id lies within the range (what XREVRANGE with streamBounds returns). */
export function inAuditRange (id: string, range: AuditRange): boolean {
  const time = auditIdTime(id)
  return (range.before === undefined || compareAuditIds(id, range.before) < 0) &&
    (range.after === undefined || compareAuditIds(id, range.after) > 0) &&
    (range.from === undefined || time >= range.from) &&
    (range.to === undefined || time <= range.to)
}
