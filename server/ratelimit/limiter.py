"""Shared budgets in Redis (`limits` parses budgets and names windows), with a per-process
fallback.

A fixed window is one counter per key and window, and the windows are aligned to
the clock (minute N is its own key), so one Redis round trip counts a call and
the reset is known without asking: it is the end of the current window, exact,
which is what `x-ratelimit-reset` promises. Memory is independent of traffic;
the price is that a caller can spend two budgets around a window edge, bounded
by 2x. When Redis is unreachable
the same budgets apply per process (an instance can then allow up to N times
the budget across N processes) until a probe succeeds again; `degraded` says
so for health and metrics.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, Storage
from limits.errors import StorageError
from redis.exceptions import RedisError

from server.domain.principal import Tier
from server.hot import scripts
from server.hot.channel import ScriptChannel
from server.observability.metrics import RATE_LIMIT_FALLBACK
from server.ratelimit.policy import Budgets, MethodClass

log = logging.getLogger(__name__)

_RETRY_SHARED_AFTER_S = 5.0


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_after_s: float


_CALLER = "\x00"  # stands for the caller's id while a key is cut into prefix and suffix


@dataclass(frozen=True, slots=True)
class SharedCounter:
    """A budget's shared counter for a caller known only inside a Redis script (admit.lua,
    server/hot/lua/): the key is prefix + caller id + suffix, as `check` names it."""

    prefix: str
    suffix: str
    amount: int
    window_s: int
    window_end: float

    def key(self, caller_id: str = "") -> str:
        return self.prefix + caller_id + self.suffix

    def decision(self, count: int) -> Decision:
        return RateLimiter._decision(
            count <= self.amount, self.amount, self.amount - count, self.window_end
        )


_PREFIX = "LIMITS"  # the shared counters' key prefix (as `limits`' Redis storage names it)


class _SharedCounters:
    """The shared fixed-window increment: the budget rule every script counts with
    (server/hot/lua/budget.lua), over the script channel, which skips redis-py's
    per-command path (it costs more than the increment)."""

    def __init__(self, channel: ScriptChannel) -> None:
        self._channel = channel
        self._script = scripts.load("count")

    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        try:
            keys = [f"{_PREFIX}:{key}"]
            return int(await self._channel.run(self._script, keys, [expiry]))
        except RedisError as error:
            raise StorageError(error) from error


class RateLimiter:
    def __init__(self, budgets: Budgets, channel: ScriptChannel) -> None:
        """Counts go over `channel`; while it fails, per process."""
        self._shared = _SharedCounters(channel)
        self._prefix = _PREFIX
        self._local: Storage = MemoryStorage()
        self._budgets = budgets
        self._shared_down_until = 0.0
        self.degraded = False
        # This window's counter per (tier, method class, key head), for `shared_counter`.
        self._counters: dict[tuple[Tier, MethodClass, str], SharedCounter] = {}

    async def check(self, tier: Tier, method_class: MethodClass, key: str) -> Decision:
        item = self._budgets.item(tier, method_class)
        identifiers = (str(method_class), key)
        if time.monotonic() >= self._shared_down_until:
            try:
                decision = await self._count(self._shared, item, identifiers)
                self._mark(degraded=False)
                return decision
            except (StorageError, OSError) as error:
                self._shared_down_until = time.monotonic() + _RETRY_SHARED_AFTER_S
                self._mark(degraded=True, error=error)
        return await self._count(self._local, item, identifiers)

    def shared_counter(
        self, tier: Tier, method_class: MethodClass, key_head: str
    ) -> SharedCounter | None:
        """The counter `check(tier, method_class, key_head + id)` would increment for any id
        in the current window (for a whole key, `key()` is that key); None while the shared
        store is down (callers then `check`)."""
        if time.monotonic() < self._shared_down_until:
            return None
        now = time.time()
        known = self._counters.get((tier, method_class, key_head))
        if known is not None and now < known.window_end:
            return known  # the same for every caller until the window ends
        item = self._budgets.item(tier, method_class)
        window = item.get_expiry()
        window_start = int(now // window) * window
        key = f"{self._prefix}:{item.key_for(str(method_class), key_head + _CALLER)}/{window_start}"
        prefix, _, suffix = key.partition(_CALLER)
        counter = SharedCounter(prefix, suffix, item.amount, window, window_start + window)
        self._counters[(tier, method_class, key_head)] = counter
        return counter

    @staticmethod
    async def _count(
        storage: Storage | _SharedCounters, item: RateLimitItem, identifiers: tuple[str, ...]
    ) -> Decision:
        """One counter increment per call: its result is the remaining budget, and the
        window's clock-aligned end is the reset, so nothing else is read."""
        window = item.get_expiry()
        now = time.time()
        window_start = int(now // window) * window
        key = f"{item.key_for(*identifiers)}/{window_start}"
        count = await storage.incr(key, window)
        allowed = count <= item.amount
        return RateLimiter._decision(
            allowed, item.amount, item.amount - count, window_start + window
        )

    def _mark(self, *, degraded: bool, error: Exception | None = None) -> None:
        if degraded and not self.degraded:
            log.warning("rate limits fall back to per-process budgets: %r", error)
        elif not degraded and self.degraded:
            log.warning("rate limits shared through Redis again")
        self.degraded = degraded
        RATE_LIMIT_FALLBACK.set(1 if degraded else 0)

    @staticmethod
    def _decision(allowed: bool, limit: int, remaining: int, reset_time: float) -> Decision:
        return Decision(allowed, limit, max(0, remaining), max(0.0, reset_time - time.time()))
