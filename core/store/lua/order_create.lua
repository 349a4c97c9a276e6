-- Create an order unless it exists, and put it into its shard's open set
-- when it has a deadline: an order whose call's answer is never stored (a
-- crash between the call and the result) must still reach the reconciler.
-- KEYS[1] order hash, KEYS[2] open-orders zset (same hash tag)
-- ARGV[1] deadline (Unix ms, '0' for none), then field/value pairs.
-- Returns 1 when created, 0 when the id was taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '0' then
  redis.call('ZADD', KEYS[2], ARGV[1], redis.call('HGET', KEYS[1], 'id'))
end
return 1
