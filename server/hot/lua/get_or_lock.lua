-- uses: lookup_or_lock
-- CacheAside's lookup (server/cache/aside.py): {generation, value or false, locked}.
local generation, value, locked = lookup_or_lock()
return {generation, value, locked}
