"""The Redis breaker on a real Redis: this process's own event loop held up by CPU work
past every reply bound does not read as a silent Redis, on redis-py's pool or on the
script channel."""

from __future__ import annotations

import asyncio
import contextlib
import time

from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.backing import BackingServices
from server.hot.channel import ScriptChannel
from server.redis_breaker import RedisBreaker, guarded_pool

REPLY_TIMEOUT_S = 0.3
STALL_S = 1.0  # the loop is held this long once the command is sent


async def _held(waiting: asyncio.Future[object]) -> object:
    """`waiting`, with the loop held by a blocking callback once its command is sent and
    its reply awaited (a few steps in: a connection's write and read are separate awaits)."""
    asyncio.get_running_loop().call_later(0.02, time.sleep, STALL_S)
    return await waiting


async def test_a_held_loop_does_not_open_the_breaker_on_redis_py(backing: BackingServices) -> None:
    """The command may fail (asyncio's timeout cancels a read whose reply is already
    buffered), but the breaker stays closed and the next command is sent."""
    breaker = RedisBreaker()
    pool = guarded_pool(backing.redis_url, breaker, max_waiting=10, socket_timeout=REPLY_TIMEOUT_S)
    redis = Redis(connection_pool=pool)
    try:
        assert await redis.ping()
        with contextlib.suppress(RedisTimeoutError):
            await _held(asyncio.ensure_future(redis.ping()))
        assert not breaker.is_open
        assert await redis.ping()
    finally:
        await redis.aclose()


async def test_a_held_loop_does_not_open_the_breaker_on_the_script_channel(
    backing: BackingServices,
) -> None:
    breaker = RedisBreaker()
    channel = ScriptChannel.for_url(
        backing.redis_url, reply_timeout_s=REPLY_TIMEOUT_S, breaker=breaker
    )
    assert channel is not None
    try:
        assert await channel.call("PING") == b"PONG"
        assert await _held(asyncio.ensure_future(channel.call("PING"))) == b"PONG"
        assert not breaker.is_open
    finally:
        channel.close()
