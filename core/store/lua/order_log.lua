-- Append a line to an order's log from outside a transition (a call, a
-- repeated notification, a delivery): the log lives exactly as long as
-- its order (LAYOUT.md, "Retention"), and an order that is gone gets none,
-- which would never expire.
-- KEYS[1] order hash, KEYS[2] its log (same hash tag); ARGV[1] the line.
-- Returns 1, or 0 when the order is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
return 1
