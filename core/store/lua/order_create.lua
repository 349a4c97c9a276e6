-- Create an order unless it exists.
-- KEYS[1] order hash; ARGV field/value pairs.
-- Returns 1 when created, 0 when the id was taken.
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
