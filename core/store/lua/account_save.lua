-- Store one bank account of a shopper and keep the two pointers the engine
-- reads: _express (the verified account for Trustly Express) and _mandate
-- (the account whose direct debit mandate is active).
-- KEYS[1] accounts hash; ARGV[1] accountid, ARGV[2] the account (JSON),
-- ARGV[3] verified '1'/'0', ARGV[4] mandate 'active', 'inactive' or '',
-- ARGV[5] retention (ms, '0' for none). A shopper with an active mandate is
-- kept (Charges use it for years); the others expire their retention after
-- the last account notification.
redis.call('HSET', KEYS[1], 'acct:' .. ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], '_express', ARGV[1])
end
if ARGV[4] == 'active' then
  redis.call('HSET', KEYS[1], '_mandate', ARGV[1])
elseif ARGV[4] == 'inactive' and redis.call('HGET', KEYS[1], '_mandate') == ARGV[1] then
  redis.call('HDEL', KEYS[1], '_mandate')
end
if ARGV[5] == '0' or redis.call('HEXISTS', KEYS[1], '_mandate') == 1 then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return 1
