-- Apply one event to one order: the state change, the dedupe record of the
-- notification that carried it, its outbox entry and the order's log, all at
-- once. The machine arrives as data (from-state → to-state pairs for this
-- event), so the Go table stays its only definition.
--
-- KEYS[1] order hash, KEYS[2] dedupe hash, KEYS[3] log list, KEYS[4] outbox
-- stream, KEYS[5] open-orders zset, KEYS[6] parent order hash, KEYS[7] its
-- dedupe hash, KEYS[8] its log (the order's own three when it has no
-- parent). All share one hash tag.
-- ARGV[1] notificationid ('' for our own events: no dedupe)
-- ARGV[2] event, ARGV[3] now (Unix ms), ARGV[4] answer to store for the
-- notificationid, ARGV[5] anomaly text ('' unless the event was judged
-- wrong before it got here, e.g. an amount mismatch), ARGV[6] open deadline
-- (Unix ms, '0' to keep the current one), ARGV[7] retention (ms, '0' for
-- none: nothing expires), ARGV[8] the signed reply to keep with the dedupe
-- record ('' when the caller signs later: SaveReply)
-- then nine counted lists: targets (from,to pairs), fields set on any
-- expected event (pairs), fields set only on a change (pairs), states that
-- release a refund's reservation on the parent, states that count as open,
-- states in which the order is kept (it still awaits something), fields
-- the order must still carry (pairs: what the caller decided on without
-- reading it), log lines to write before the transition's own, and one
-- flag: '1' to return the order too.
-- Returns {outcome, from, to, seq, answer, pttl, mids, tid, extref, was,
-- reply} and, when asked, the order's fields and values; outcome is
-- applied, unchanged, anomaly, duplicate (answer = the first one, reply =
-- the signed reply stored for it, '' when none was), changed (an expected
-- field differs: nothing written) or missing; pttl is the order's PTTL
-- afterwards (-1: kept), was its PTTL before, and mids, tid, extref name
-- its index entries, which the caller makes follow it.
local order, nd, log, outbox, open = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local parent, pnd, plog = KEYS[6], KEYS[7], KEYS[8]
local nid, event, now, answer, anomaly, deadline = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local retention, signed = ARGV[7], ARGV[8]
local was = tostring(redis.call('PTTL', order))

local i = 9
local function list()
  local n = tonumber(ARGV[i])
  local t = {}
  for j = 1, n do t[j] = ARGV[i + j] end
  i = i + n + 1
  return t
end
local function has(t, v)
  for _, x in ipairs(t) do if x == v then return true end end
  return false
end
local targets, set, setChanged, release, openStates, keepStates = list(), list(), list(), list(), list(), list()
local expect, lines, withOrder = list(), list(), list()[1] == '1'

local function indexes(outcome, from, to, seq, ans, reply)
  local x = redis.call('HMGET', order, 'mids', 'tid', 'extref')
  local r = {outcome, from, to, seq, ans, tostring(redis.call('PTTL', order)), x[1] or '', x[2] or '', x[3] or '', was, reply or ''}
  if withOrder then
    for _, v in ipairs(redis.call('HGETALL', order)) do r[#r + 1] = v end
  end
  return r
end

if nid ~= '' then
  local first = redis.call('HMGET', nd, nid, 'reply:' .. nid)
  if first[1] then
    -- The timeline shows that Trustly sent it again; the log lives as
    -- long as its order (order_log.lua).
    redis.call('RPUSH', log, now .. '\t' .. event .. '\t' .. nid .. '\tduplicate\t\t\tanswered ' .. first[1] .. ' again')
    local ttl = redis.call('PTTL', order)
    if ttl > 0 then redis.call('PEXPIRE', log, ttl) end
    return indexes('duplicate', '', '', '', first[1], first[2])
  end
end
local cur = redis.call('HMGET', order, 'state', 'id', 'seq')
local state, id = cur[1], cur[2]
if not state then
  return {'missing', '', '', '', '', '-2', '', '', '', '-2', ''}
end
for j = 1, #expect, 2 do
  if (redis.call('HGET', order, expect[j]) or '') ~= expect[j + 1] then
    return {'changed', '', '', '', '', '-2', '', '', '', was, ''}
  end
end

local to
if anomaly == '' then
  for j = 1, #targets, 2 do
    if targets[j] == state then to = targets[j + 1] break end
  end
end
local outcome
if to == nil then
  outcome, to = 'anomaly', state
  if anomaly == '' then anomaly = 'event ' .. event .. ' not expected in state ' .. state end
elseif to == state then
  outcome = 'unchanged'
else
  outcome = 'applied'
end

if outcome ~= 'anomaly' and #set > 0 then
  redis.call('HSET', order, unpack(set))
end
if outcome == 'applied' then
  if #setChanged > 0 then redis.call('HSET', order, unpack(setChanged)) end
  redis.call('HSET', order, 'state', to)
  if has(release, to) and not has(release, state) and parent ~= order then
    -- The refund will not happen: its amount is refundable again.
    local amount = tonumber(redis.call('HGET', order, 'amount') or '0')
    redis.call('HINCRBY', parent, 'refunded', -amount)
  end
end
if has(openStates, to) then
  if deadline ~= '0' then redis.call('ZADD', open, deadline, id) end
else
  redis.call('ZREM', open, id)
end
if outcome == 'anomaly' then
  redis.call('HSET', order, 'attention', anomaly)
end
redis.call('HSET', order, 'updated', now)

local seq = cur[3] or '0'
if outcome ~= 'unchanged' then
  seq = tostring(redis.call('HINCRBY', order, 'seq', 1))
  local o = redis.call('HMGET', order, 'flow', 'amount', 'currency', 'extref', 'tid', 'enduserid', 'parent', 'credited')
  local kind = 'state'
  if outcome == 'anomaly' then kind = 'attention' end
  -- No MAXLEN: an entry leaves the stream only after it was acknowledged
  -- (outbox_ack.lua trims), never because the platform was slow.
  redis.call('XADD', outbox, '*',
    'order', id, 'seq', seq, 'kind', kind, 'flow', o[1] or '', 'event', event,
    'from', state, 'to', to, 'nid', nid, 'at', now,
    'amount', o[2] or '0', 'currency', o[3] or '', 'extref', o[4] or '', 'tid', o[5] or '',
    'enduserid', o[6] or '', 'parent', o[7] or '', 'credited', o[8] or '0', 'note', anomaly)
end
for _, l in ipairs(lines) do redis.call('RPUSH', log, l) end
redis.call('RPUSH', log, now .. '\t' .. event .. '\t' .. nid .. '\t' .. outcome .. '\t' .. state .. '\t' .. to .. '\t' .. anomaly)
if nid ~= '' then
  redis.call('HSET', nd, nid, answer)
  if signed ~= '' then redis.call('HSET', nd, 'reply:' .. nid, signed) end
end

-- Retention (LAYOUT.md): every write pushes the expiry out again; an order
-- that still awaits an outcome (open) or something else that matters (a
-- pending payment, an active mandate, also one a Deposit asked for) does
-- not expire at all. The dedupe hash and the log live exactly as long as
-- the order.
local keep = retention == '0' or has(openStates, to) or has(keepStates, to)
  or redis.call('HGET', order, 'mandate') == 'active'
for _, k in ipairs({order, nd, log}) do
  if keep then redis.call('PERSIST', k) else redis.call('PEXPIRE', k, retention) end
end
-- A refund's paid order lives at least as long as its refund's last change;
-- one that is kept stays kept.
if parent ~= order and redis.call('PTTL', parent) >= 0 then
  for _, k in ipairs({parent, pnd, plog}) do
    if retention == '0' then redis.call('PERSIST', k) else redis.call('PEXPIRE', k, retention) end
  end
end
return indexes(outcome, state, to, seq, answer)
