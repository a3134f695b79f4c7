-- uses: budget
-- With the cache off (server/cache/responses.py): the count as in cache_lookup.lua
-- (KEYS[2] the counter, ARGV[1] its window or '', ARGV[2] its budget), then the state of
-- each agent in ARGV[3..] (KEYS[1] the presence hash) → {count, {state…}}; over budget,
-- nothing is read.
local count, over = 0, false
if ARGV[1] ~= '' then
  count, over = count_call(KEYS[2], ARGV[1], ARGV[2])
  if over then return {count, {}} end
end
if #ARGV < 3 then return {count, {}} end
return {count, redis.call('HMGET', KEYS[1], unpack(ARGV, 3))}
