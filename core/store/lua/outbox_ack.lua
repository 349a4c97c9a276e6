-- An outbox entry leaves the outbox: it reached the platform, or it is
-- given up on (dead-lettered), or it is skipped (the platform already has
-- it or a newer change of its order). Acknowledge it; remember the order's
-- last acknowledged seq, which later entries wait for, and, when it reached
-- the platform, the last seq the platform has, which older replays yield
-- to. Then, once the stream is longer than its cap, trim what the group has
-- acknowledged, never an entry it has not.
-- KEYS[1] stream, KEYS[2] order hash, KEYS[3] dead-letter stream, KEYS[4]
-- failure counts (hash by entry id)
-- ARGV[1] group, ARGV[2] entry id, ARGV[3] seq, ARGV[4] reason ('' unless
-- the entry goes to the dead-letter stream), ARGV[5] stream cap (length
-- past which acknowledged entries are trimmed), ARGV[6] '1' when the
-- platform got the entry
local seq = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
  if #e == 1 then
    local fields = e[1][2]
    table.insert(fields, 'reason')
    table.insert(fields, ARGV[4])
    table.insert(fields, 'entry')
    table.insert(fields, ARGV[2])
    -- No MAXLEN: a dead letter was never delivered; it goes only by replay.
    redis.call('XADD', KEYS[3], '*', unpack(fields))
  end
end
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local cur = redis.call('HMGET', KEYS[2], 'delivered', 'landed')
  if seq > tonumber(cur[1] or '0') then redis.call('HSET', KEYS[2], 'delivered', ARGV[3]) end
  if ARGV[6] == '1' and seq > tonumber(cur[2] or '0') then redis.call('HSET', KEYS[2], 'landed', ARGV[3]) end
end
local cap = tonumber(ARGV[5])
if n == 1 and redis.call('XLEN', KEYS[1]) > cap then
  -- The group reads in id order, so every entry below the oldest one still
  -- pending was read and acknowledged; with none pending, every entry up to
  -- this one was. Whole stream nodes below that floor go at once.
  local floor = ARGV[2]
  local p = redis.call('XPENDING', KEYS[1], ARGV[1])
  if tonumber(p[1]) > 0 then floor = p[2] end
  redis.call('XTRIM', KEYS[1], 'MINID', '~', floor)
  -- One entry retrying for long holds the floor back; the entries after it
  -- that were acknowledged go one by one, so the stream stays within its
  -- cap plus what is undelivered.
  if redis.call('XLEN', KEYS[1]) > cap then redis.call('XDEL', KEYS[1], ARGV[2]) end
end
return n
