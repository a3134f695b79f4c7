"""Postgres or Redis stalls (SIGSTOP: the socket accepts, nothing answers): calls that
need it get UNAVAILABLE with RetryInfo well before the client's deadline, never a hang,
and succeed again once it resumes, on the same server without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
import pytest
from agentregistry.v1 import (
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from google.protobuf import field_mask_pb2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.backing import BackingServices
from server.hot.channel import ScriptChannel
from tests.e2e.servers import Instance, instance
from tests.factories import AgentHandle, register
from tests.faults.backing import FaultPostgres, FaultRedis, fault_settings
from tests.faults.traffic import Seen, until_ok

# Far beyond any backend timeout: a call still waiting at its deadline has hung.
CLIENT_DEADLINE_S = 20.0
# A stalled Postgres must cost a call about a second (a liveness ping's bound, then the
# "not answering" breaker refuses at once); three leaves room for a loaded machine and
# is still well under what waiting out a statement's reply bound plus a reconnect costs.
STALLED_POSTGRES_DEADLINE_S = 3.0
# The stable reasons a client sees when a backing service does not answer.
BACKEND_REASONS = {"BACKEND_UNAVAILABLE", "DATABASE_UNAVAILABLE", "PRESENCE_UNAVAILABLE"}

Call = Callable[[], Awaitable[object]]


async def _outcome(call: Call) -> str:
    """OK, or the reason of an UNAVAILABLE with ErrorInfo and RetryInfo; anything else
    (DEADLINE_EXCEEDED: the call hung on the stalled backend) fails the test."""
    try:
        await call()
    except grpc.aio.AioRpcError as error:
        seen = Seen()
        seen.failed(error)
        assert seen.bad == []
        (reason,) = seen.reasons
        return reason
    return "OK"


def _get(server: Instance, owner: AgentHandle, deadline_s: float = CLIENT_DEADLINE_S) -> Call:
    request = registry_service_pb2.GetAgentRequest(name=owner.name)
    return lambda: server.registry.GetAgent(request, timeout=deadline_s)


def _beat(server: Instance, owner: AgentHandle) -> Call:
    presence = presence_service_pb2_grpc.PresenceServiceStub(server.channel)
    request = presence_service_pb2.SendHeartbeatRequest(name=owner.name, load=0.5)
    return lambda: presence.SendHeartbeat(
        request, metadata=owner.metadata, timeout=CLIENT_DEADLINE_S
    )


def _stream(server: Instance, owner: AgentHandle) -> Call:
    """A heartbeat stream's opening and first beat, answered or ended with a status."""
    presence = presence_service_pb2_grpc.PresenceServiceStub(server.channel)

    async def call() -> object:
        stream = presence.Heartbeat(metadata=owner.metadata, timeout=CLIENT_DEADLINE_S)
        try:
            await stream.write(presence_service_pb2.HeartbeatRequest(sequence=1))
            answer = await stream.read()
            if answer is grpc.aio.EOF:
                await stream  # raises the status the server ended it with
            return answer
        finally:
            stream.cancel()

    return call


def _update(server: Instance, owner: AgentHandle, deadline_s: float = CLIENT_DEADLINE_S) -> Call:
    def call() -> Awaitable[object]:
        request = registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=owner.name, description="after a stall"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        )
        return server.registry.UpdateAgent(request, metadata=owner.metadata, timeout=deadline_s)

    return call


async def test_stalled_redis_gives_unavailable_then_recovers(
    fault_backing: BackingServices, fault_redis: FaultRedis
) -> None:
    async with instance(fault_settings(fault_backing), fault_backing) as server:
        owner = await register(server.registry, server.auth)
        calls = [_get(server, owner), _beat(server, owner), _stream(server, owner)]
        for call in calls:  # connected and warm before the stall
            await call()
        with fault_redis.stalled():
            read, *beats = await asyncio.gather(*(_outcome(call) for call in calls))
            # A read may be served from Postgres with the last flushed presence; beats
            # have nowhere to go but Redis.
            assert read in {"OK", *BACKEND_REASONS}
            assert set(beats) <= BACKEND_REASONS
        for call in calls:
            await until_ok(call)


async def test_stalled_postgres_gives_unavailable_then_recovers(
    fault_backing: BackingServices, fault_postgres: FaultPostgres
) -> None:
    """A point read (uncached GetAgent) and a write (UpdateAgent, through SQLAlchemy),
    each within STALLED_POSTGRES_DEADLINE_S: the liveness check at checkout gives up on
    a silent server after its short ping bound, and the breaker then refuses at once
    instead of trying a new connection (before, a call waited out the statement's reply
    bound and a connect timeout, and ended DEADLINE_EXCEEDED at this deadline). Calls
    made while the breaker is open fail at once too; after SIGCONT a probe finds
    Postgres answering and calls succeed again (polled, no fixed wait)."""
    settings = fault_settings(fault_backing, cache_enabled=False)
    async with instance(settings, fault_backing) as server:
        owner = await register(server.registry, server.auth)
        deadline = STALLED_POSTGRES_DEADLINE_S
        calls = [_get(server, owner, deadline), _update(server, owner, deadline)]
        for call in calls:
            await call()
        with fault_postgres.stalled():
            reasons = await asyncio.gather(*(_outcome(call) for call in calls))
            assert set(reasons) <= BACKEND_REASONS  # neither can be answered without it
            # Refused while it stays silent, each again within the short deadline.
            reasons = await asyncio.gather(*(_outcome(call) for call in calls * 4))
            assert set(reasons) <= BACKEND_REASONS
        for call in calls:
            await until_ok(call)


async def test_script_channel_bounds_calls_waiting_on_a_stalled_redis(
    fault_redis: FaultRedis,
) -> None:
    """Past its bound a call is refused at once; those waiting fail at the reply timeout;
    the next call after the stall reconnects and is answered."""
    channel = ScriptChannel.for_url(fault_redis.url, reply_timeout_s=0.5, max_waiting=4)
    assert channel is not None
    try:
        assert await channel.call("PING") == b"PONG"
        with fault_redis.stalled():
            waiting = [asyncio.ensure_future(channel.call("PING")) for _ in range(4)]
            await asyncio.sleep(0)  # each is queued on the connection
            with pytest.raises(RedisConnectionError):
                await channel.call("PING")
            outcomes = await asyncio.gather(*waiting, return_exceptions=True)
            assert all(isinstance(outcome, RedisTimeoutError) for outcome in outcomes)
        assert await until_answered(channel) == b"PONG"
    finally:
        channel.close()


async def until_answered(channel: ScriptChannel, limit: int = 100) -> object:
    """PING until the channel answers (bounded: each failure takes a reply timeout)."""
    for _ in range(limit):
        try:
            return await channel.call("PING")
        except (RedisConnectionError, RedisTimeoutError):
            await asyncio.sleep(0.1)
    raise AssertionError("the channel never answered after the stall")
