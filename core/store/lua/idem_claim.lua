-- Claim an idempotency key, or answer why not.
-- KEYS[1] record hash, KEYS[2] lock (same hash tag)
-- ARGV[1] request fingerprint, ARGV[2] lock TTL ms, ARGV[3] record TTL ms,
-- ARGV[4] the recovery point to record at once when the claim inherits none
-- ('' for none: what Progress would write next, saved a round trip)
-- Returns one of
--   {'claimed', token, recovery point}  the caller runs the request
--   {'done', status, body}              the stored response, for a replay
--   {'busy'}                            a live claim holds the key
--   {'reused'}                          the key belongs to other parameters
local rec, lock = KEYS[1], KEYS[2]
local fields = redis.call('HMGET', rec, 'state', 'fp')
local state, fp = fields[1], fields[2]

if state then
  -- Parameters first: another request's key is a caller bug, whether or
  -- not that request is still running.
  if fp ~= ARGV[1] then
    return {'reused'}
  end
  if state == 'done' then
    local resp = redis.call('HMGET', rec, 'status', 'body')
    return {'done', resp[1], resp[2]}
  end
  if redis.call('EXISTS', lock) == 1 then
    return {'busy'}
  end
  -- A running record without its lock: the holder died or stalled past the
  -- lock TTL. Take it over below; a newer token fences the old holder out.
end

-- The fence outlives releases but not the record's TTL. Seeding a missing
-- fence from the server clock (microseconds) keeps tokens rising even when
-- a record expired and came back, so a worker stalled for a whole TTL still
-- cannot match a new claim's token. Built as a string: Lua numbers this
-- large would print in exponent notation.
if redis.call('HEXISTS', rec, 'fence') == 0 then
  local now = redis.call('TIME')
  redis.call('HSET', rec, 'fence', now[1] .. string.rep('0', 6 - #now[2]) .. now[2])
end
redis.call('HINCRBY', rec, 'fence', 1)
local token = redis.call('HGET', rec, 'fence')

-- A takeover inherits the dead holder's recovery point; a fresh claim
-- starts from nothing.
local point = ''
if state == 'running' then
  point = redis.call('HGET', rec, 'point') or ''
else
  redis.call('HDEL', rec, 'point')
end

redis.call('HSET', rec, 'state', 'running', 'fp', ARGV[1])
if point == '' and ARGV[4] ~= '' then
  redis.call('HSET', rec, 'point', ARGV[4])
end
redis.call('SET', lock, token, 'PX', ARGV[2])
redis.call('PEXPIRE', rec, ARGV[3])
return {'claimed', token, point}
