-- Make messageid the order's current attempt, keeping the earlier ones.
-- KEYS[1] order hash; ARGV[1] MessageID, ARGV[2] now (Unix ms).
-- Returns 1, or 0 when the order does not exist.
local o = redis.call('HMGET', KEYS[1], 'state', 'mids')
if not o[1] then return 0 end
local mids = o[2] or ''
if mids == '' then mids = ARGV[1] else mids = mids .. ',' .. ARGV[1] end
redis.call('HSET', KEYS[1], 'mid', ARGV[1], 'mids', mids, 'updated', ARGV[2])
return 1
