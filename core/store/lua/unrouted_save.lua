-- Keep a notification that no order takes, once.
-- KEYS[1] record hash; ARGV field/value pairs (one of them 'answer').
-- Returns the answer stored by the first delivery, or '' when this is it.
local first = redis.call('HGET', KEYS[1], 'answer')
if first then return first end
redis.call('HSET', KEYS[1], unpack(ARGV))
return ''
