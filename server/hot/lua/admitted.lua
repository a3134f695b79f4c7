-- uses: admit
-- The start of scripts that do an agent's presence work behind admit(): their own
-- arguments follow its seven, so `A` offsets them. The caller's agent is ARGV[A + 1], or
-- the session's when that is '' (a stream opening does not name its agent); a session of
-- another agent is refused as 'not_owner' before anything is written.
local A = $ADMIT_ARGS
local verdict, owner, verified, count = admit()
if verdict ~= 'ok' then return {verdict, owner, verified, count} end
local agent = ARGV[A + 1]
if owner ~= '' then
  if agent == '' then agent = owner elseif agent ~= owner then
    return {'not_owner', owner, verified, count}
  end
end
