-- uses: admit
-- A session and its agent's epoch in one round trip, checked by admit() (the one place
-- the epoch rule is written): the session when it is alive, else false. Every
-- authenticated call that is not itself a script pays it.
if admit() ~= 'ok' then return false end
return redis.call('GET', KEYS[1])
