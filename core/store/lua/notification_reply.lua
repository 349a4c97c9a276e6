-- Keep the signed reply of a notification beside its dedupe record (an
-- order's, or an unrouted notification's), so a repeat is answered with the
-- same bytes and costs no new signature. Written only while the record
-- exists: a reply never outlives (or resurrects) the record's hash, whose
-- TTL an HSET on it keeps.
--
-- KEYS[1] the hash; ARGV[1] the field that is the record, ARGV[2] the field
-- for the reply, ARGV[3] the signed reply.
-- Returns 1 when kept, 0 when there is no record for it.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
