-- uses: budget, lookup_or_lock
-- A cached response's lookup (server/cache/responses.py). First, when the call's budget
-- is counted here (ARGV[3] its window, '' when not; ARGV[4] its budget; the last key its
-- counter; the call's CountTicket), the count: over budget, {false, false, 0, count} and
-- nothing is read. Then a miss as CacheAside's (the load lock taken in the same call) →
-- {generation, false, locked, count, {state of each agent in ARGV[5..]}}: the agents the
-- response will show when the caller knows them beforehand (GetAgent's own). A hit →
-- {generation, value, {state of each listed agent, false where none}, count}. The
-- presence state hash is the key after the generations.
local count, over = 0, false
if ARGV[3] ~= '' then
  count, over = count_call(KEYS[#KEYS], ARGV[3], ARGV[4])
  if over then return {false, false, 0, count} end
end
local generation, value, locked = lookup_or_lock()
if not value then
  local known = {}
  if #ARGV > 4 then known = redis.call('HMGET', KEYS[generations + 1], unpack(ARGV, 5)) end
  return {generation, false, locked, count, known}
end
local ids = {}
local head = string.sub(value, 1, string.find(value, '\n', 1, true) - 1)
for id in string.gmatch(head, '[^,]+') do ids[#ids + 1] = id end
if #ids == 0 then return {generation, value, {}, count} end
local live = redis.call('HMGET', KEYS[generations + 1], unpack(ids))
return {generation, value, live, count}
