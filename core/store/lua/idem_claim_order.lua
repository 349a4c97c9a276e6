-- Claim an idempotency key and, when the claim is fresh, create the order
-- its request starts, in one script: where every key lives on one master (a
-- single node, Sentinel, the embedded store) a payment then needs one round
-- trip before its Deposit instead of two. Run after idem_claim.lua and
-- order_create.lua, each wrapped as a function of its own KEYS and ARGV
-- (claim, create: store.claimOrderScript), so each is written once.
-- KEYS[1] record hash, KEYS[2] lock, KEYS[3] order hash, KEYS[4] open set,
-- KEYS[5] the MessageID's index entry; then, when ARGV[6] is '1', the
-- ExternalReference's index set; then, when ARGV[7] is '1', the shopper's
-- accounts hash.
-- ARGV[1..4] the claim's: fingerprint, lock TTL ms, record TTL ms, point;
-- ARGV[5] order id; ARGV[6], ARGV[7] as above; ARGV[8] the order's deadline
-- (Unix ms, '0' for none); then the order's field/value pairs.
-- Returns {'exists'} (nothing claimed) when the order id is taken; else the
-- claim's reply, where a fresh claim's is {'claimed', token, '', express}:
-- the order is created, with express ('' for none) as its account.
if redis.call('EXISTS', KEYS[3]) == 1 then
  return {'exists'}
end
local r = claim({KEYS[1], KEYS[2]}, {ARGV[1], ARGV[2], ARGV[3], ARGV[4]})
-- Only a fresh claim runs its request. A takeover inherits a point (a dead
-- holder's request may have had effects): it is answered "interrupted" and
-- creates nothing, as a replay, a busy key or a reused one do.
if r[1] ~= 'claimed' or r[3] ~= '' then
  return r
end

local n, ref, accounts = 6, nil, nil
if ARGV[6] == '1' then
  ref = KEYS[n]
  n = n + 1
end
if ARGV[7] == '1' then
  accounts = KEYS[n]
end
local order = {ARGV[8]}
for i = 9, #ARGV do
  order[#order + 1] = ARGV[i]
end
local express = ''
if accounts then
  express = redis.call('HGET', accounts, '_express') or ''
  if express ~= '' then
    order[#order + 1] = 'accountid'
    order[#order + 1] = express
  end
end
create({KEYS[3], KEYS[4]}, order)
-- The order awaits its call: like it, its entries do not expire
-- (RedisOrders.CreateOpen).
redis.call('SET', KEYS[5], ARGV[5])
if ref then
  redis.call('SADD', ref, ARGV[5])
  redis.call('PERSIST', ref)
end
return {'claimed', r[2], '', express}
