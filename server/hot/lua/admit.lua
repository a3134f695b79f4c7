-- uses: budget
-- The session check (and, where calls are counted, the caller's budget) as a function
-- for scripts that do a call's work in the same round trip. KEYS[1] is the session key,
-- '' when the caller was already resolved; ARGV[1..7] are AdmitCheck.args
-- (server/auth/store.py). `admit()` answers (verdict, agent id, verified 0/1, count):
-- verdict 'ok', 'unauthenticated' or 'limited'; the work runs only on 'ok'. Like
-- read_session.lua it derives the epoch and counter keys, so it assumes one Redis.
local function admit()
  if KEYS[1] == '' then return 'ok', '', 0, 0 end
  local raw = redis.call('GET', KEYS[1])
  if not raw then return 'unauthenticated', '', 0, 0 end
  local session = cjson.decode(raw)
  local agent = session['agent_id']
  local epoch = redis.call('GET', ARGV[1] .. agent)
  local version = tostring(session['key_version'])
  local minted = session['epoch']  -- sessions minted before epochs were kept have none
  if minted == nil then minted = version else minted = tostring(minted) end
  if not epoch or epoch ~= minted or string.match(epoch, '^[^:]*') ~= version then
    return 'unauthenticated', '', 0, 0
  end
  local verified = 0
  if session['verified'] == true then verified = 1 end
  if ARGV[2] == '' then return 'ok', agent, verified, 0 end
  local suffix, budget = ARGV[3], ARGV[4]
  if verified == 1 then suffix, budget = ARGV[5], ARGV[6] end
  local count, over = count_call(ARGV[2] .. agent .. suffix, ARGV[7], budget)
  if over then return 'limited', agent, verified, count end
  return 'ok', agent, verified, count
end
