// The store's atomic steps, as Lua scripts Redis runs without interleaving
// another client (registered with ioredis's defineCommand, so each is sent by
// its SHA after the first use). Every script touches keys of one hash tag
// only (src/store/keys.ts), so each runs on one slot of a Cluster.

// Drops the sessions whose expiresAt has passed (ARGV[now]); helper, inlined.
const PRUNE = `
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, info = pcall(cjson.decode, all[i + 1])
  if not ok or type(info) ~= 'table' or type(info.expiresAt) ~= 'number' or info.expiresAt <= tonumber(now) then
    redis.call('HDEL', KEYS[1], all[i])
  end
end`

export const scripts = {
  // KEYS: sessions, refresh; ARGV: sid, info, ttl, now, record
  wpagCreateSession: {
    numberOfKeys: 2,
    lua: `local now = ARGV[4]
${PRUNE}
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[3])
return 1`
  },

  // KEYS: sessions, old refresh, new refresh; ARGV: sid, info, ttl, spent prefix.
  // A spent token ends its session; the session's absence ends every later rotation.
  wpagRotate: {
    numberOfKeys: 3,
    lua: `local v = redis.call('GET', KEYS[2])
if not v then return 'invalid' end
local spent = ARGV[4]
if string.sub(v, 1, string.len(spent)) == spent then
  redis.call('HDEL', KEYS[1], string.sub(v, string.len(spent) + 1))
  return 'reused'
end
if v ~= ARGV[1] or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return 'invalid' end
redis.call('SET', KEYS[2], spent .. v, 'PX', ARGV[3])
redis.call('SET', KEYS[3], v, 'PX', ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 'rotated'`
  },

  // KEYS: sessions; ARGV: now
  wpagSessions: {
    numberOfKeys: 1,
    lua: `local now = ARGV[1]
${PRUNE}
return redis.call('HGETALL', KEYS[1])`
  },

  // KEYS: sessions. Returns the ended sessions' ids.
  wpagEndSessions: {
    numberOfKeys: 1,
    lua: `local sids = redis.call('HKEYS', KEYS[1])
redis.call('DEL', KEYS[1])
return sids`
  },

  // KEYS: revocation list; ARGV: channel, then field, value pairs. Stored and
  // broadcast in one step; an entry is never shortened.
  wpagRevoke: {
    numberOfKeys: 1,
    lua: `local lines = {}
for i = 2, #ARGV, 2 do
  local current = tonumber(redis.call('HGET', KEYS[1], ARGV[i]))
  local value = ARGV[i + 1]
  if current == nil or tonumber(value) == nil or current < tonumber(value) then
    redis.call('HSET', KEYS[1], ARGV[i], value)
  end
  lines[#lines + 1] = ARGV[i] .. '|' .. value
end
redis.call('PUBLISH', ARGV[1], table.concat(lines, '\\n'))
return #lines`
  },

  // KEYS: records; ARGV: channel, catalog, id, record, only-if-present ('1').
  // Stored and announced in one step; an update never brings back a deleted record.
  wpagPutRecord: {
    numberOfKeys: 1,
    lua: `if ARGV[5] == '1' and redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('PUBLISH', ARGV[1], ARGV[2] .. '\\n' .. ARGV[3] .. '\\n' .. ARGV[4])
return 1`
  },

  // KEYS: records, notes; ARGV: channel, catalog, then ids. Returns the ids that existed.
  wpagDeleteRecords: {
    numberOfKeys: 2,
    lua: `local gone = {}
for i = 3, #ARGV do
  if redis.call('HDEL', KEYS[1], ARGV[i]) == 1 then gone[#gone + 1] = ARGV[i] end
  redis.call('HDEL', KEYS[2], ARGV[i])
  redis.call('PUBLISH', ARGV[1], ARGV[2] .. '\\n' .. ARGV[i] .. '\\n')
end
return gone`
  },

  // KEYS: counter; ARGV: ttl. The TTL starts with the counter and is never extended.
  wpagIncr: {
    numberOfKeys: 1,
    lua: `local v = redis.call('INCR', KEYS[1])
if v == 1 and tonumber(ARGV[1]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`
  },

  // KEYS: audit stream; ARGV: max entries, min id (ms), expiry (ms), the entries
  // one per line (JSON, whose strings escape every newline). A whole batch in
  // one command and one argument, written by the gateway straight from its buffer: as a pipeline of XADDs the gateway spent
  // more CPU making the commands than Redis spent running them. Each XADD
  // trims the length approximately (whole macro nodes, cheap); the age bound
  // is exact and costs only what it removes; a trail nothing is written to
  // any more goes when its newest entry is too old.
  wpagAppendAudit: {
    numberOfKeys: 1,
    lua: `local n = 0
for entry in string.gmatch(ARGV[4], '[^\\n]+') do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', entry)
  n = n + 1
end
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return n`
  },

  // KEYS: generation; ARGV: candidate "id:since". The existing one, or the candidate once stored.
  wpagGeneration: {
    numberOfKeys: 1,
    lua: `local g = redis.call('GET', KEYS[1])
if g then return g end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]`
  }
} as const

export type ScriptName = keyof typeof scripts
