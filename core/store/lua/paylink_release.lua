-- Release a pay link's click lock, only if it still holds our fence: a lock
-- that lapsed and was taken by another click is left to that click.
-- KEYS[1] click lock; ARGV[1] fencing token. Returns 1 if released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
