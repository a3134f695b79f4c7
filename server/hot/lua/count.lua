-- uses: budget
-- A rate-limit count (server/ratelimit/limiter.py): KEYS[1] the counter, ARGV[1] its
-- window; answers the count (the limiter compares it with the budget itself).
local count = count_call(KEYS[1], ARGV[1], 0)
return count
