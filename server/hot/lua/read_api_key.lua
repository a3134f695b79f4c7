-- An API key's record and its agent's epoch in one round trip (server/auth/api_keys.py).
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
if raw == ARGV[2] then return {raw} end
local agent = cjson.decode(raw)['agent_id']
if type(agent) ~= 'string' then return {raw} end  -- an operator key: no agent
return {raw, redis.call('GET', ARGV[1] .. agent)}
