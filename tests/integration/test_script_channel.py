"""The pipelined script connection against a real Redis: order, errors, reconnects, reloads."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from server.backing import BackingServices
from server.hot.channel import Script, ScriptChannel

_ECHO = Script("return {KEYS[1], ARGV[1]}")


@pytest.fixture
async def channel(backing: BackingServices) -> ScriptChannel:
    found = ScriptChannel.for_url(backing.redis_url)
    assert found is not None
    return found


async def test_concurrent_calls_get_their_own_replies(channel: ScriptChannel) -> None:
    replies = await asyncio.gather(*(channel.run(_ECHO, [f"k{i}"], [i]) for i in range(200)))
    assert replies == [[f"k{i}".encode(), str(i).encode()] for i in range(200)]
    channel.close()


async def test_an_error_reply_fails_only_its_call(channel: ScriptChannel) -> None:
    bad = Script("return redis.call('INCR', KEYS[1])")
    key = f"test:channel:{uuid.uuid4().hex}"
    await channel.call("SET", key, "not a number")
    failed, fine = await asyncio.gather(
        channel.run(bad, [key], []), channel.run(_ECHO, ["a"], ["b"]), return_exceptions=True
    )
    assert isinstance(failed, ResponseError) and fine == [b"a", b"b"]
    channel.close()


async def test_a_redis_still_loading_its_data_is_a_lost_connection_not_a_bad_reply(
    channel: ScriptChannel,
) -> None:
    """What Redis answers every command while it loads its dataset after a restart: callers
    must see it as unavailable (UNAVAILABLE, retry), not as an error of their own."""
    loading = Script("return redis.error_reply('LOADING Redis is loading the dataset in memory')")
    with pytest.raises(RedisConnectionError, match="LOADING"):
        await channel.run(loading, [], [])
    assert await channel.run(_ECHO, ["a"], ["b"]) == [b"a", b"b"]
    channel.close()


async def test_a_flushed_script_cache_is_reloaded(
    channel: ScriptChannel, backing: BackingServices
) -> None:
    fresh = Script(f"return '{uuid.uuid4().hex}'")
    redis = Redis.from_url(backing.redis_url)
    try:
        await redis.script_flush()
        assert (await channel.run(fresh, [], [])).decode() in fresh.text
        assert (await redis.script_exists(fresh.sha)) == [True]
    finally:
        await redis.aclose()
        channel.close()


async def test_a_killed_connection_fails_its_calls_and_the_next_call_reconnects(
    channel: ScriptChannel, backing: BackingServices
) -> None:
    client_id = await channel.call("CLIENT", "ID")
    redis = Redis.from_url(backing.redis_url)
    try:
        await redis.execute_command("CLIENT", "KILL", "ID", client_id)
    finally:
        await redis.aclose()
    answered = 0
    for _ in range(3):  # the kill may be noticed on the first call after it, or before
        try:
            assert await channel.run(_ECHO, ["x"], ["y"]) == [b"x", b"y"]
            answered += 1
        except RedisConnectionError:
            continue
    assert answered >= 2
    assert await channel.call("CLIENT", "ID") != client_id
    channel.close()


def test_every_redis_url_gets_a_channel() -> None:
    for url in ("redis://h:6379/0", "rediss://h:6380/0", "unix:///tmp/redis.sock"):
        assert isinstance(ScriptChannel.for_url(url), ScriptChannel)


async def test_a_reply_whose_waiter_gave_up_goes_to_whoever_adopted_it(
    channel: ScriptChannel,
) -> None:
    await channel.run(_ECHO, ["k"], ["v"])  # connected and loaded: submit queues at once
    future = channel.submit(_ECHO, ["gone"], ["1"])
    assert future is not None
    future.cancel()  # what cancelling a task that awaits it does
    adopted: list[object] = []
    channel.adopt(future, adopted.append)
    # Replies come in order: once a later call is answered, the adopted one was handed over.
    assert await channel.run(_ECHO, ["after"], ["2"]) == [b"after", b"2"]
    assert adopted == [[b"gone", b"1"]]
    landed = channel.submit(_ECHO, ["landed"], ["3"])
    assert landed is not None
    await asyncio.wait([landed])
    channel.adopt(landed, adopted.append)  # in before its waiter gave up: handed over at once
    assert adopted[-1] == [b"landed", b"3"]
    channel.close()
