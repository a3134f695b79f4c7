-- Marks expired entries offline (keeping their load and last beat) and dirty, in one pass
-- that no beat can interleave with; answers how many it marked.
local expired = redis.call(
  'ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local n = #expired / 2
if n == 0 then return 0 end
local ids, offline = {}, {}
for i = 1, n do ids[i] = expired[2 * i - 1] end
for start = 1, n, 1000 do
  local stop = math.min(start + 999, n)
  local chunk = {unpack(ids, start, stop)}
  local prev = redis.call('HMGET', KEYS[2], unpack(chunk))
  offline = {}
  for j = 1, #chunk do
    local load = '0'
    local raw = prev[j]
    if raw then
      local first = string.find(raw, '|', 1, true)
      local second = first and string.find(raw, '|', first + 1, true)
      if first and second then load = string.sub(raw, first + 1, second - 1) end
    end
    offline[#offline + 1] = chunk[j]
    offline[#offline + 1] = 'offline|' .. load .. '|' .. expired[2 * (start + j - 1)]
  end
  redis.call('HSET', KEYS[2], unpack(offline))
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('SADD', KEYS[3], unpack(chunk))
end
return n
