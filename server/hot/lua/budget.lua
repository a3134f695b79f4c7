-- The budget rule, written once: a fixed window's counter counts one call, created with
-- its window as expiry; the call is over budget past `budget`. Every budget counted in a
-- script goes through it (admit.lua, cache_lookup.lua, count_and_live.lua, count.lua).
local function count_call(counter, window, budget)
  local count = redis.call('INCR', counter)
  if count == 1 then redis.call('EXPIRE', counter, window) end
  return count, count > tonumber(budget)
end
