/**
 * The Lua scripts of the Redis engine. Each runs atomically on the node that holds the
 * channel's slot, so "append to the log, remember the idempotency key, notify" is one step:
 * a node never notifies what is not in the log, and a retry that reaches Redis after the
 * first attempt's node died still finds the first attempt's record.
 *
 * Layout (see redis-keys.ts): KEYS[1] meta hash, KEYS[2] stream.
 * - The epoch lives in the meta hash and is replaced whenever the meta hash or the stream is
 *   missing (Redis restarted without persistence, a key was evicted, expired or deleted): a
 *   lost log can never be mistaken for the old one. New epochs come from the caller (ARGV),
 *   because scripts must stay deterministic.
 * - Entry ids are `<offset>-<append ms>`: offsets index the log directly (XRANGE from
 *   `offset+1`) and the append time is in the id for age trimming, without an extra key.
 *   Offsets grow by one; entries leave only from the head, so retained offsets are contiguous.
 */

/** Ensures the channel has an epoch and a stream; returns the epoch. */
const ENSURE = `
local function ensure(meta, stream, candidate, ttl)
  local epoch = redis.call('HGET', meta, 'e')
  if epoch and redis.call('EXISTS', stream) == 1 then return epoch, false end
  -- The old log's last append time, if the meta hash outlived it (removeHistory keeps it): the
  -- new epoch appends strictly later, so an id such as 1-<ms> handed out from the old log can
  -- never name an entry of the new one, even when both fall in the same millisecond.
  local last = tonumber(redis.call('HGET', meta, 'l')) or 0
  if last > 0 then last = last + 1 end
  redis.call('DEL', stream)
  -- An empty stream whose last id is 0-1: offset 1 will be id 1-<ms>.
  redis.call('XADD', stream, 'MAXLEN', '0', '0-1', 'd', '')
  redis.call('DEL', meta)
  redis.call('HSET', meta, 'e', candidate, 't', 0, 'l', last)
  redis.call('PEXPIRE', meta, ttl)
  redis.call('PEXPIRE', stream, ttl)
  return candidate, true
end

local function idTime(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, dash + 1))
end

local function timeAt(stream, offset)
  local entry = redis.call('XRANGE', stream, offset, offset)
  return idTime(entry[1][1])
end

-- Drops entries appended before 'cutoff' (ms). Gallops from the head, then bisects, so the
-- cost is O(log removed) lookups, and O(1) when nothing is old.
local function trimByAge(stream, top, cutoff)
  local first = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  if #first == 0 then return end
  local id = first[1][1]
  if idTime(id) >= cutoff then return end
  local lo = tonumber(string.sub(id, 1, string.find(id, '-', 1, true) - 1))
  local hi = top + 1
  local step = 1
  while lo + step <= top do
    local probe = lo + step
    if timeAt(stream, probe) >= cutoff then hi = probe break end
    lo = probe
    step = step * 2
  end
  while hi - lo > 1 do
    local mid = math.floor((lo + hi) / 2)
    if timeAt(stream, mid) >= cutoff then hi = mid else lo = mid end
  end
  redis.call('XTRIM', stream, 'MINID', hi)
end
`;

/**
 * KEYS: meta, stream, idempotency record.
 * ARGV: data, history size, history age (ms), idempotency ttl (ms, 0: no key),
 *       candidate epoch, stream idle ttl (ms), notify channel.
 * Returns {offset, epoch, duplicate (0/1), append ms}.
 */
export const PUBLISH_SCRIPT = `${ENSURE}
local meta, stream, record = KEYS[1], KEYS[2], KEYS[3]
local size, age, idemTtl, idleTtl = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local epoch = ensure(meta, stream, ARGV[5], idleTtl)
if idemTtl > 0 then
  local seen = redis.call('GET', record)
  if seen then
    local a = string.find(seen, ':', 1, true)
    local b = string.find(seen, ':', a + 1, true)
    return {tonumber(string.sub(seen, 1, a - 1)), string.sub(seen, a + 1, b - 1), 1, tonumber(string.sub(seen, b + 1))}
  end
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
-- Append times never go backwards within a channel, even if the Redis clock does.
local last = tonumber(redis.call('HGET', meta, 'l')) or 0
if now < last then now = last end
local offset = redis.call('HINCRBY', meta, 't', 1)
redis.call('HSET', meta, 'l', now, 'a', age)
redis.call('XADD', stream, 'MAXLEN', size, offset .. '-' .. now, 'd', ARGV[1])
trimByAge(stream, offset, now - age)
if idemTtl > 0 then
  redis.call('SET', record, offset .. ':' .. epoch .. ':' .. now, 'PX', idemTtl)
end
redis.call('PEXPIRE', meta, idleTtl)
redis.call('PEXPIRE', stream, idleTtl)
redis.call('PUBLISH', ARGV[7], offset .. ':' .. epoch .. ':' .. now .. ':' .. ARGV[1])
return {offset, epoch, 0, now}
`;

/**
 * KEYS: meta, stream.
 * ARGV: candidate epoch, ttl for a stream that has never been published to (ms),
 *       since epoch ('' for none), since offset, limit.
 * Returns {epoch, top offset, entries} — entries as XRANGE returns them, oldest first.
 * Reading creates the stream (fixing its epoch) like the memory engine, so a subscriber's
 * position stays valid for the stream's first publications.
 */
export const HISTORY_SCRIPT = `${ENSURE}
local meta, stream = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[5])
local epoch, created = ensure(meta, stream, ARGV[1], tonumber(ARGV[2]))
local top = tonumber(redis.call('HGET', meta, 't'))
if top == 0 and not created then
  redis.call('PEXPIRE', meta, ARGV[2])
  redis.call('PEXPIRE', stream, ARGV[2])
end
-- Age retention holds without traffic: apply the latest publish's limit on reads too.
local age = tonumber(redis.call('HGET', meta, 'a'))
if age and top > 0 then
  local clock = redis.call('TIME')
  trimByAge(stream, top, tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) - age)
end
if limit == 0 then return {epoch, top, {}} end
if ARGV[3] == epoch then
  local since = tonumber(ARGV[4])
  if since >= top then return {epoch, top, {}} end
  return {epoch, top, redis.call('XRANGE', stream, since + 1, '+', 'COUNT', limit)}
end
local latest = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', limit)
local oldestFirst = {}
for i = #latest, 1, -1 do oldestFirst[#oldestFirst + 1] = latest[i] end
return {epoch, top, oldestFirst}
`;

/**
 * KEYS: meta, stream. Forgets the log; the next publish or read starts a new epoch. Only the
 * last append time stays (with the meta hash's expiry), so the new epoch's ids follow it.
 */
export const REMOVE_HISTORY_SCRIPT = `
local last = redis.call('HGET', KEYS[1], 'l')
local ttl = redis.call('PTTL', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2])
if last and ttl > 0 then
  redis.call('HSET', KEYS[1], 'l', last)
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
`;
