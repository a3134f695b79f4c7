"""Cache-aside over Redis with generation keys and single-flight loads.

Why hand-written on redis-py rather than a cache library: the guarantees we
need are "no stale read after a write returns, on any instance" and "one
recomputation per hot key", and both come from two small Redis idioms:

- **Generations.** A cached value's key embeds a generation counter
  (`…:g<N>`); a write bumps the counter after commit. A reader that loaded the
  old row before the commit can only write it under the old generation, which
  nobody reads any more, so invalidation has no race window. One Lua call reads
  generation and value in a single round trip.
- **Single flight.** On a miss, one caller takes a short `SET NX` lock and
  loads; the others poll briefly for the value instead of all hitting Postgres
  (those in the loader's own process are handed its value instead).

A hit is one round trip; a miss two (the lookup takes the lock in the same
call, and the value is stored and the lock released in one pipeline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.hot import scripts
from server.observability.metrics import CACHE_LOOKUPS

log = logging.getLogger(__name__)

LOCK_MS = 3000  # the load lock (lookup_or_lock.lua)
_WAIT_STEP_S = 0.01
_WAIT_STEPS = 50


class CacheAside:
    def __init__(self, redis: Redis, *, enabled: bool = True) -> None:
        self.redis = redis  # also for readers that fold more into their lookup (search)
        self._get = redis.register_script(scripts.text("get_or_lock", LOCK_MS=LOCK_MS))
        self.enabled = enabled
        self.hits = 0
        self.misses = 0
        # Loads this process holds the lock for, by versioned key: (value, True) once
        # loaded, (None, False) if the loading caller failed or went away.
        self._loading: dict[str, asyncio.Future[tuple[bytes | None, bool]]] = {}

    async def get_or_load(
        self,
        key: str,
        generation_key: str | Sequence[str],
        ttl_s: int,
        load: Callable[[], Awaitable[bytes | None]],
    ) -> bytes | None:
        """The cached bytes for `key`, or `load()`'s (cached when not None)."""
        if not self.enabled:
            return await load()
        generations = [generation_key] if isinstance(generation_key, str) else generation_key
        try:
            generation, value, locked = await self._get(
                keys=generations, args=[key, len(generations)]
            )
        except RedisError as error:
            log.warning("cache unavailable, reading through: %r", error)
            return await load()
        if value is not None:
            self.count_hit()
            return bytes(value)
        return await self.load_missed(key, generation, bool(locked), ttl_s, load)

    async def load_missed(
        self,
        key: str,
        generation: bytes | str,
        locked: bool,
        ttl_s: int,
        load: Callable[[], Awaitable[bytes | None]],
    ) -> bytes | None:
        """After a lookup_or_lock.lua miss: load and store when this caller holds the lock,
        else wait briefly for the holder's value (and load it alone if none comes).

        A waiter in the process that holds the lock is handed the value the moment it is
        loaded, without polling Redis. It only joins a load of the same versioned key, so
        it never gets a value older than its own lookup.
        """
        self.misses += 1
        CACHE_LOOKUPS.labels("miss").inc()
        full_key = f"{key}:g{generation.decode() if isinstance(generation, bytes) else generation}"
        if locked:
            return await self._load_and_store(full_key, ttl_s, load)
        loading = self._loading.get(full_key)
        if loading is not None:
            value, loaded = await asyncio.shield(loading)
            return value if loaded else await load()
        for _ in range(_WAIT_STEPS):
            await asyncio.sleep(_WAIT_STEP_S)
            waited = await self.redis.get(full_key)
            if waited is not None:
                return waited if isinstance(waited, bytes) else waited.encode()
        return await load()

    async def _load_and_store(
        self, full_key: str, ttl_s: int, load: Callable[[], Awaitable[bytes | None]]
    ) -> bytes | None:
        """As the lock holder: load, hand the value to this process's waiters, store it."""
        loading: asyncio.Future[tuple[bytes | None, bool]]
        loading = asyncio.get_running_loop().create_future()
        self._loading[full_key] = loading
        loaded: bytes | None = None
        try:
            loaded = await load()
            loading.set_result((loaded, True))
        finally:
            # Another holder may have taken the key over (its lock expired during a slow load).
            if self._loading.get(full_key) is loading:
                del self._loading[full_key]
            if not loading.done():  # load failed or its caller went away: waiters load
                loading.set_result((None, False))
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    if loaded is not None:
                        pipe.set(full_key, loaded, ex=ttl_s)
                    pipe.delete(f"lock:{full_key}")
                    await pipe.execute()
            except RedisError as error:  # the value is loaded; the lock expires by itself
                log.warning("cache store failed for %s: %r", full_key, error)
        return loaded

    def count_hit(self) -> None:
        """Also for readers that look values up with their own script (search responses)."""
        self.hits += 1
        CACHE_LOOKUPS.labels("hit").inc()

    async def bump(self, *generation_keys: str) -> None:
        """Invalidate everything cached under these generations (call after commit)."""
        if not self.enabled or not generation_keys:
            return
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for generation_key in generation_keys:
                    pipe.incr(generation_key)
                await pipe.execute()
        except RedisError as error:
            # The write committed; entries expire by TTL. Redis being down also means
            # nothing is served from it, so this only matters if it comes back at once.
            log.error("cache invalidation failed for %s: %r", generation_keys, error)
