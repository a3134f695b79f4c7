"""A process-wide "Redis is not answering" breaker, for every wait on Redis.

A call may wait on Redis several times in a row (a cached read's lookup, the presence it
shows, the cache's fill after it; a sign-in's challenge then its session): on a stalled
Redis (SIGSTOP: connected, silent) each wait cost its own reply timeout, a GetAgent about
four seconds, and a burst of calls more as they queued for redis-py's connections. Once a
wait goes unanswered, every new one is refused at once for a cool-down (a second; redis-py's
ConnectionError: UNAVAILABLE with RetryInfo, or the caller's fallback); after that one
wait per cool-down goes through as a probe, and any reply closes the breaker.

The script channel (server/hot/channel.py) and redis-py's pool (`guarded_pool`) report
to one breaker and are refused by it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, ClassVar

from redis.asyncio import BlockingConnectionPool
from redis.asyncio.connection import AbstractConnection, Connection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from db.breaker import Breaker

# A timeout this late was held up by the loop, not by Redis (see _Reporting).
LATE_S = 0.25


class NotAnswering(RedisConnectionError):
    """Refused without asking: Redis did not answer recently."""


class TooManyWaiting(RedisConnectionError):
    """The bound of calls waiting for a connection is reached: refused, not queued."""


class RedisBreaker(Breaker):
    """db/breaker.py's open and closed states, with Redis's refusal and one probe per
    cool-down: a Redis wait has no `exchange` around it that would report a probe's end.

    With a `prober` (the script channel's PING) the probe is its own, sent in the
    background, and every call is refused until a reply closes the breaker: a call that
    went out as the probe would wait out a whole reply timeout on a Redis still silent."""

    _probed_at = -math.inf
    prober: Callable[[], None] | None = None

    def admit(self, *, probe: bool = True) -> None:
        """Raise NotAnswering while open, unless the cool-down is over and no probe went
        out within the last one: then this wait is the probe (`probe=False`: only ask),
        or the prober sends one."""
        opened_at = self._opened_at
        if opened_at is None:
            return
        now = self._clock()
        if now - max(opened_at, self._probed_at) < self._cool_down_s:
            raise NotAnswering("Redis is not answering; not asked again yet")
        if self.prober is not None:
            self._probed_at = now
            self.prober()
            raise NotAnswering("Redis is not answering; asked again")
        if probe:
            self._probed_at = now


class _Reporting:
    """Mixed into redis-py's connection classes: replies close the breaker, a timed out
    reply or connect opens it, and no connection is opened while it is open.

    A timeout that fired well after it was due is not reported: this process's event
    loop was held (CPU work) and may have left a reply unread, which is no silence of
    Redis's (the script channel looks again after the loop has read its socket)."""

    breaker: ClassVar[RedisBreaker]
    socket_timeout: float | None
    socket_connect_timeout: float | None

    async def connect(self) -> None:
        # A call that waited for a pooled connection while Redis went silent, and got one
        # that must reconnect, is refused here rather than after a connect timeout.
        self.breaker.admit(probe=False)
        started = time.monotonic()
        try:
            await super().connect()  # type: ignore[misc]
        except RedisTimeoutError:
            self._timed_out(started, self.socket_connect_timeout)
            raise

    async def read_response(self, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        try:
            response = await super().read_response(*args, **kwargs)  # type: ignore[misc]
        except RedisTimeoutError:
            self._timed_out(started, self.socket_timeout)
            raise
        self.breaker.answered()
        return response

    def _timed_out(self, started: float, bound: float | None) -> None:
        if bound is not None and time.monotonic() - started < bound + LATE_S:
            self.breaker.silent()


class GuardedPool(BlockingConnectionPool):
    """redis-py's blocking pool, refused by the breaker before and after the wait for a
    connection (a call that queued while the first ones timed out is not sent after
    them), with at most `max_waiting` calls waiting for a connection."""

    def __init__(self, *, breaker: RedisBreaker, max_waiting: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._breaker = breaker
        self._max_waiting = max_waiting
        self._waiting = 0

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        self._breaker.admit(probe=False)
        if self._waiting >= self._max_waiting:
            raise TooManyWaiting(f"{self._waiting} calls already wait for a Redis connection")
        self._waiting += 1
        try:
            connection: AbstractConnection = await super().get_connection(  # type: ignore[no-untyped-call]
                *args, **kwargs
            )
        finally:
            self._waiting -= 1
        try:
            self._breaker.admit()
        except NotAnswering:
            await self.release(connection)
            raise
        return connection


def guarded_pool(
    url: str, breaker: RedisBreaker, *, max_waiting: int, **options: Any
) -> GuardedPool:
    """A pool for `url` (redis://, rediss://, unix://) whose connections report to
    `breaker`. Built from the parsed URL rather than `from_url`, whose URL options would
    replace the connection class."""
    url_options = parse_url(url)
    base: type[AbstractConnection] = url_options.pop("connection_class", Connection)
    reporting = type(f"Reporting{base.__name__}", (_Reporting, base), {"breaker": breaker})
    return GuardedPool(
        breaker=breaker,
        max_waiting=max_waiting,
        connection_class=reporting,
        **url_options,
        **options,
    )
