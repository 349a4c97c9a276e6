-- Keep a notification that no order takes, once, for the retention.
-- KEYS[1] record hash; ARGV[1] retention (ms, '0' for none), then
-- field/value pairs (one of them 'answer').
-- Returns {answer, reply}: the answer stored by the first delivery ('' when
-- this is it) and the signed reply kept for it ('' when none was).
local first = redis.call('HMGET', KEYS[1], 'answer', 'reply')
if first[1] then return {first[1], first[2] or ''} end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {'', ''}
