-- Store a claim's response, to be replayed for repeats of the request.
-- KEYS[1] record hash, KEYS[2] lock
-- ARGV[1] token, ARGV[2] status, ARGV[3] body, ARGV[4] record TTL ms
-- Returns 1, or 0 when the token no longer holds the claim.
local rec, lock = KEYS[1], KEYS[2]
local fields = redis.call('HMGET', rec, 'state', 'fence')
if fields[2] ~= ARGV[1] then
  return 0
end
if fields[1] == 'done' then
  -- This token completed already: a retry whose first reply was lost.
  -- The first response stands.
  return 1
end
if fields[1] ~= 'running' then
  return 0
end
redis.call('HSET', rec, 'state', 'done', 'status', ARGV[2], 'body', ARGV[3])
redis.call('HDEL', rec, 'point')
redis.call('DEL', lock)
-- Kept for the TTL after the response exists, so every replay within it
-- sees the same answer.
redis.call('PEXPIRE', rec, ARGV[4])
return 1
