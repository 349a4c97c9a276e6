-- An outbox entry reached the platform (or is given up on): acknowledge it
-- and remember the order's last delivered seq, which later entries of the
-- same order wait for.
-- KEYS[1] stream, KEYS[2] order hash, KEYS[3] dead-letter stream, KEYS[4]
-- failure counts (hash by entry id)
-- ARGV[1] group, ARGV[2] entry id, ARGV[3] seq, ARGV[4] reason ('' unless
-- the entry goes to the dead-letter stream), ARGV[5] dead MAXLEN
local seq = tonumber(ARGV[3])
if ARGV[4] ~= '' then
  local e = redis.call('XRANGE', KEYS[1], ARGV[2], ARGV[2])
  if #e == 1 then
    local fields = e[1][2]
    table.insert(fields, 'reason')
    table.insert(fields, ARGV[4])
    table.insert(fields, 'entry')
    table.insert(fields, ARGV[2])
    redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', unpack(fields))
  end
end
local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[4], ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
  local cur = tonumber(redis.call('HGET', KEYS[2], 'delivered') or '0')
  if seq > cur then redis.call('HSET', KEYS[2], 'delivered', ARGV[3]) end
end
return n
