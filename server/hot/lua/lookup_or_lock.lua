-- lookup_or_lock() gives the current key of ARGV[1] under the generations in
-- KEYS[1..ARGV[2]] (one when ARGV[2] is absent): its generation and value, or on a miss
-- the generation, false, and 1 if this caller now holds the load lock else 0. A value
-- under several generations is retired when any of them is bumped. Scripts that fold
-- more into their lookup (cache_lookup.lua) find their own keys after the generations.
local generations = tonumber(ARGV[2] or '1')
local function lookup_or_lock()
  local parts = {}
  for i = 1, generations do parts[i] = redis.call('GET', KEYS[i]) or '0' end
  local generation = table.concat(parts, '.')
  local key = ARGV[1] .. ':g' .. generation
  local value = redis.call('GET', key)
  if value then return generation, value, 0 end
  local locked = redis.call('SET', 'lock:' .. key, 1, 'NX', 'PX', $LOCK_MS)
  return generation, false, locked and 1 or 0
end
