-- Give a key back without a result, so the request may be sent again with
-- any parameters, as if it had never been seen.
-- KEYS[1] record hash, KEYS[2] lock
-- ARGV[1] token, ARGV[2] record TTL ms
-- Returns 1, or 0 when the token no longer holds the claim.
local rec, lock = KEYS[1], KEYS[2]
local fields = redis.call('HMGET', rec, 'state', 'fence')
if fields[2] ~= ARGV[1] then
  return 0
end
if not fields[1] then
  -- Released already by this token: a retry.
  return 1
end
if fields[1] ~= 'running' then
  -- A stored response is never taken back.
  return 0
end
-- The fence stays, so tokens keep rising across the release.
redis.call('HDEL', rec, 'state', 'fp', 'point')
redis.call('DEL', lock)
redis.call('PEXPIRE', rec, ARGV[2])
return 1
