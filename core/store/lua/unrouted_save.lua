-- Keep a notification that no order takes, once, for the retention.
-- KEYS[1] record hash; ARGV[1] retention (ms, '0' for none), then
-- field/value pairs (one of them 'answer').
-- Returns the answer stored by the first delivery, or '' when this is it.
local first = redis.call('HGET', KEYS[1], 'answer')
if first then return first end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return ''
