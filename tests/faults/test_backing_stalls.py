"""Postgres or Redis stalls (SIGSTOP: the socket accepts, nothing answers): calls that
need it get UNAVAILABLE with RetryInfo well before the client's deadline, never a hang,
and succeed again once it resumes, on the same server without a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import grpc
import psycopg
import pytest
from agentregistry.v1 import (
    auth_service_pb2,
    auth_service_pb2_grpc,
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from google.protobuf import field_mask_pb2
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from db.engine import libpq_url
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


def _beat(server: Instance, owner: AgentHandle, deadline_s: float = CLIENT_DEADLINE_S) -> Call:
    presence = presence_service_pb2_grpc.PresenceServiceStub(server.channel)
    request = presence_service_pb2.SendHeartbeatRequest(name=owner.name, load=0.5)
    return lambda: presence.SendHeartbeat(request, metadata=owner.metadata, timeout=deadline_s)


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


# More calls at once than redis-py's pool has connections (50), on every path that waits
# for Redis: the script channel (a cached read, beats, a stream's opening, rate-limit
# counts) and redis-py's pool (a session read before a write, a sign-in challenge).
BURST = 240
# As for Postgres: about a second each (a reply's bound), with room for a loaded machine.
STALLED_REDIS_DEADLINE_S = 3.0


def _challenge(server: Instance, owner: AgentHandle) -> Call:
    auth = auth_service_pb2_grpc.AuthServiceStub(server.channel)
    request = auth_service_pb2.CreateChallengeRequest(agent=owner.name)
    return lambda: auth.CreateChallenge(request, timeout=STALLED_REDIS_DEADLINE_S)


async def test_a_burst_of_calls_on_a_stalled_redis_each_fail_fast(
    fault_backing: BackingServices, fault_redis: FaultRedis
) -> None:
    """Every call of a burst larger than the connection pools, on every path that waits for
    Redis, ends within STALLED_REDIS_DEADLINE_S: answered, or UNAVAILABLE with RetryInfo
    (none queues behind the others for a connection), and all succeed after SIGCONT."""
    settings = fault_settings(fault_backing, rate_limit_enabled=True)
    async with instance(settings, fault_backing) as server:
        owner = await register(server.registry, server.auth)
        deadline = STALLED_REDIS_DEADLINE_S
        kinds = [
            _get(server, owner, deadline),
            _update(server, owner, deadline),
            _challenge(server, owner),
            _beat(server, owner, deadline),
        ]
        for call in kinds:
            await call()
        calls = [kinds[n % len(kinds)] for n in range(BURST)]
        with fault_redis.stalled():
            started = time.monotonic()
            reasons = await asyncio.gather(*(_outcome(call) for call in calls))
            print(
                f"{BURST} calls on a stalled Redis ended within {time.monotonic() - started:.2f} s"
            )
            assert set(reasons) <= {"OK", *BACKEND_REASONS}
        for call in kinds:
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


async def _locked_for_a_while(watch: psycopg.AsyncConnection[object]) -> None:
    """Until a statement of the server's has waited for a row lock longer than several
    ping bounds: a legitimately long statement, which the server keeps waiting on while
    Postgres answers its liveness probe. (`watch` in autocommit: a transaction would see
    one snapshot of the activity.)"""
    for _ in range(400):
        cursor = await watch.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
            " AND clock_timestamp() - query_start > interval '1.5 s'"
        )
        row = await cursor.fetchone()
        if row is not None and row[0] > 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the update never waited on the lock")


async def test_a_statement_in_flight_when_postgres_stalls_fails_in_about_a_second(
    fault_backing: BackingServices, fault_postgres: FaultPostgres
) -> None:
    """An UpdateAgent whose UPDATE waits on a row lock (held here) is still waiting after
    several ping bounds while Postgres answers; once Postgres is stopped it fails
    UNAVAILABLE well within STALLED_POSTGRES_DEADLINE_S of the stall (before, it waited
    out the statement timeout plus the reply margin, about 6 s), and succeeds again
    after SIGCONT and the lock's release."""
    settings = fault_settings(fault_backing, cache_enabled=False)
    async with (
        instance(settings, fault_backing) as server,
        await psycopg.AsyncConnection.connect(libpq_url(fault_backing.database_url)) as lock,
        await psycopg.AsyncConnection.connect(
            libpq_url(fault_backing.database_url), autocommit=True
        ) as watch,
    ):
        owner = await register(server.registry, server.auth)
        agent_id = owner.name.removeprefix("agents/")
        await lock.execute("SELECT 1 FROM agents WHERE id = %s FOR UPDATE", [agent_id])
        update = asyncio.ensure_future(_outcome(_update(server, owner)))
        await _locked_for_a_while(watch)
        assert not update.done()
        with fault_postgres.stalled():
            stalled_at = time.monotonic()
            reason = await asyncio.wait_for(update, STALLED_POSTGRES_DEADLINE_S)
            print(f"in-flight statement failed {time.monotonic() - stalled_at:.2f} s into a stall")
            assert reason in BACKEND_REASONS
        await lock.rollback()
        await until_ok(_update(server, owner))


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
