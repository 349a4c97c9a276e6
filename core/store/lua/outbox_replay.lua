-- Move a dead-lettered entry back into the outbox, marked as a replay so
-- the order's delivered seq does not hold it back.
-- KEYS[1] dead-letter stream, KEYS[2] outbox stream; ARGV[1] dead entry id.
-- Returns the new entry id, or '' when not found.
local e = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #e == 0 then return '' end
local fields, out = e[1][2], {}
for j = 1, #fields, 2 do
  local k = fields[j]
  if k ~= 'reason' and k ~= 'entry' and k ~= 'replay' then
    table.insert(out, k)
    table.insert(out, fields[j + 1])
  end
end
table.insert(out, 'replay')
table.insert(out, '1')
-- No MAXLEN: like every entry, it is trimmed only once acknowledged.
local id = redis.call('XADD', KEYS[2], '*', unpack(out))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
