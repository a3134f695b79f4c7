-- Mint a session under the agent's current epoch (set to its key version if it has none).
redis.call('SET', KEYS[2], ARGV[2], 'NX')
local epoch = redis.call('GET', KEYS[2])
local session = cjson.decode(ARGV[1])
session['epoch'] = epoch
redis.call('SET', KEYS[1], cjson.encode(session), 'EX', ARGV[3])
