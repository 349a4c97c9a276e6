-- Reserve a refund's amount on its paid order and create the refund order,
-- so concurrent refunds can never add up to more than was credited. The
-- refund enters the open set at once: if the process dies before the
-- Refund call's outcome is stored, the reconciler still resolves it.
-- KEYS[1] paid order hash, KEYS[2] refund order hash, KEYS[3] open-orders
-- zset, KEYS[4] paid order's dedupe hash, KEYS[5] its log (same hash tag)
-- ARGV[1] amount (minor units; '0' = everything still refundable),
-- ARGV[2] currency, ARGV[3] the state a refundable order must be in,
-- ARGV[4] the refund's open deadline (Unix ms, '0' for none),
-- ARGV[5] retention (ms, '0' for none),
-- then field/value pairs of the refund order (without amount).
-- The refund is created without a TTL (it awaits its outcome); the paid
-- order's TTL, when it has one, is pushed out again.
-- Returns {'ok', amount}, {'missing'}, {'state', state},
-- {'currency', currency} or {'exceeds', refundable}.
local paid, refund, open = KEYS[1], KEYS[2], KEYS[3]
local o = redis.call('HMGET', paid, 'state', 'currency', 'credited', 'refunded')
if not o[1] then return {'missing'} end
if o[1] ~= ARGV[3] then return {'state', o[1]} end
if o[2] ~= ARGV[2] then return {'currency', o[2]} end
local refundable = tonumber(o[3] or '0') - tonumber(o[4] or '0')
local amount = tonumber(ARGV[1])
if amount == 0 then amount = refundable end
if amount <= 0 or amount > refundable then
  return {'exceeds', tostring(refundable)}
end
if redis.call('EXISTS', refund) == 1 then return {'state', 'refund id taken'} end
redis.call('HINCRBY', paid, 'refunded', amount)
local ids = redis.call('HGET', paid, 'refunds')
local id = ''
for j = 6, #ARGV, 2 do if ARGV[j] == 'id' then id = ARGV[j + 1] end end
if ids and ids ~= '' then ids = ids .. ',' .. id else ids = id end
redis.call('HSET', paid, 'refunds', ids)
redis.call('HSET', refund, 'amount', tostring(amount), unpack(ARGV, 6))
if ARGV[4] ~= '0' then redis.call('ZADD', open, ARGV[4], id) end
if redis.call('PTTL', paid) >= 0 then
  for _, k in ipairs({paid, KEYS[4], KEYS[5]}) do
    if ARGV[5] == '0' then redis.call('PERSIST', k) else redis.call('PEXPIRE', k, ARGV[5]) end
  end
end
return {'ok', tostring(amount)}
