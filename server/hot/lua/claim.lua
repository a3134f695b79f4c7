-- uses: admitted
-- A stream opening: the stream becomes the agent's live one; answers the one it replaced
-- and the milliseconds its session has left (-1 without a session), when the stream ends.
local previous = redis.call('SET', ARGV[A + 2] .. agent, ARGV[A + 3], 'GET')
local left = -1
if KEYS[1] ~= '' then left = redis.call('PTTL', KEYS[1]) end
return {verdict, owner, verified, count, agent, previous or '', left}
