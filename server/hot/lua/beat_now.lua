-- uses: admitted
-- A unary beat, written at once: status '' keeps the live one (online past the TTL or
-- when offline), as PresenceService.live_status reads it. Answers the status written.
local status, at = ARGV[A + 2], ARGV[A + 4]
if status == '' then
  status = 'online'
  local current = redis.call('HGET', KEYS[3], agent)
  if current then
    local first = string.find(current, '|', 1, true)
    local second = first and string.find(current, '|', first + 1, true)
    if second then
      local was = string.sub(current, 1, first - 1)
      local seen = tonumber(string.sub(current, second + 1))
      if was ~= 'offline' and seen and tonumber(at) - seen <= tonumber(ARGV[A + 5]) then
        status = was
      end
    end
  end
end
if status == 'offline' then
  redis.call('ZREM', KEYS[2], agent)
else
  redis.call('ZADD', KEYS[2], at, agent)
end
redis.call('HSET', KEYS[3], agent, status .. '|' .. ARGV[A + 3] .. '|' .. ARGV[A + 6])
redis.call('SADD', KEYS[4], agent)
return {verdict, owner, verified, count, status}
