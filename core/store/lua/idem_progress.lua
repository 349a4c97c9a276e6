-- Extend a live claim's lock and optionally record a recovery point.
-- KEYS[1] record hash, KEYS[2] lock
-- ARGV[1] token, ARGV[2] lock TTL ms, ARGV[3] record TTL ms,
-- ARGV[4] '1' to store ARGV[5] as the recovery point, '0' to keep it
-- Returns 1, or 0 when the token no longer holds the claim.
local rec, lock = KEYS[1], KEYS[2]
local fields = redis.call('HMGET', rec, 'state', 'fence')
if fields[1] ~= 'running' or fields[2] ~= ARGV[1] then
  return 0
end
-- Setting rather than extending: a lock that lapsed while nobody took the
-- key over is safe to hold again, since the token is still the newest.
redis.call('SET', lock, ARGV[1], 'PX', ARGV[2])
if ARGV[4] == '1' then
  redis.call('HSET', rec, 'point', ARGV[5])
end
redis.call('PEXPIRE', rec, ARGV[3])
return 1
