"""WatchEvents streams of one process share its outbox follower: fan-out, the per-caller
cap, and resuming without gaps while writes go on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from agentregistry.v1 import registry_service_pb2, resources_pb2
from google.rpc import error_details_pb2, status_pb2
from sqlalchemy import event

from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.servers import Instance, instance
from tests.e2e.test_events_watch import update
from tests.factories import error_details, register

TIMEOUT_S = 30.0
WATCHERS = 60
CAP = 3


@pytest.fixture
async def server(settings: Settings, backing: BackingServices) -> AsyncIterator[Instance]:
    """A process of its own: the watch cap counts per process and per caller (here every
    anonymous stream is 127.0.0.1)."""
    own = settings.model_copy(update={"watch_max_per_principal": CAP})
    async with instance(own, backing) as server:
        yield server


def _watch(server: Instance, **fields: object) -> grpc.aio.UnaryStreamCall:  # type: ignore[type-arg]
    return server.registry.WatchEvents(registry_service_pb2.WatchEventsRequest(**fields))


async def _until(call: grpc.aio.UnaryStreamCall, agent: str, count: int) -> list[int]:  # type: ignore[type-arg]
    """Ids of the next `count` events of `agent` (keepalives skipped)."""
    ids: list[int] = []
    async with asyncio.timeout(TIMEOUT_S):
        while len(ids) < count:
            event = await call.read()
            assert event is not grpc.aio.EOF
            if event.type != resources_pb2.EVENT_TYPE_KEEPALIVE:
                assert event.agent == agent
                ids.append(event.id)
    return ids


def _retry_delay_ms(error: grpc.aio.AioRpcError) -> int:
    for key, value in error.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:  # type: ignore[arg-type]
                retry = error_details_pb2.RetryInfo()
                if detail.Unpack(retry):
                    return retry.retry_delay.ToMilliseconds()
    return 0


async def test_every_watcher_of_a_process_gets_a_write(
    settings: Settings, backing: BackingServices
) -> None:
    many = settings.model_copy(update={"watch_max_per_principal": WATCHERS})
    async with instance(many, backing) as server:
        agent = await register(server.registry, server.auth)
        agent_id = agent.name.removeprefix("agents/")
        reads_for_agent: list[str] = []

        def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "FROM events" in statement and agent_id in str(parameters):
                reads_for_agent.append(statement)

        calls = [_watch(server, agent=agent.name) for _ in range(WATCHERS)]
        try:
            # Each says where it stands once it has caught up: then it follows.
            async with asyncio.timeout(TIMEOUT_S):
                firsts = await asyncio.gather(*(call.read() for call in calls))
            assert {first.type for first in firsts} == {resources_pb2.EVENT_TYPE_KEEPALIVE}
            event.listen(server.app.engine.sync_engine, "before_cursor_execute", record)
            await update(server.registry, agent, "seen by all")
            received = await asyncio.gather(*(_until(call, agent.name, 1) for call in calls))
        finally:
            for call in calls:
                call.cancel()
    assert len({ids[0] for ids in received}) == 1
    # The process read the outbox once for all of them, not once per stream.
    assert reads_for_agent == []


async def test_past_the_cap_a_watch_is_refused_until_one_closes(server: Instance) -> None:
    agent = await register(server.registry, server.auth)
    open_calls = [_watch(server, agent=agent.name) for _ in range(CAP)]
    try:
        async with asyncio.timeout(TIMEOUT_S):
            await asyncio.gather(*(call.read() for call in open_calls))
        refused = _watch(server, agent=agent.name)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await refused.read()
        details = error_details(caught.value)
        assert details.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (details.reason, details.metadata) == ("TOO_MANY_WATCHES", {"limit": str(CAP)})
        assert _retry_delay_ms(caught.value) > 0

        # Another caller (the agent's own session) has a cap of its own.
        mine = server.registry.WatchEvents(
            registry_service_pb2.WatchEventsRequest(agent=agent.name), metadata=agent.metadata
        )
        async with asyncio.timeout(TIMEOUT_S):
            assert (await mine.read()).type == resources_pb2.EVENT_TYPE_KEEPALIVE
        mine.cancel()

        open_calls.pop().cancel()
        admitted = None
        async with asyncio.timeout(TIMEOUT_S):
            while admitted is None:  # the closed stream's place frees as its handler ends
                attempt = _watch(server, agent=agent.name)
                try:
                    first = await attempt.read()
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                    await asyncio.sleep(0.05)
                    continue
                assert first.type == resources_pb2.EVENT_TYPE_KEEPALIVE
                admitted = attempt
        open_calls.append(admitted)
    finally:
        for call in open_calls:
            call.cancel()


async def test_resuming_while_writes_go_on_misses_and_repeats_nothing(server: Instance) -> None:
    agent = await register(server.registry, server.auth)
    writes = 60

    async def write() -> None:
        for n in range(writes):
            await update(server.registry, agent, f"v{n}")

    # Where the agent's history starts: its registration.
    replay = _watch(server, after_event_id=1, agent=agent.name)
    [registered] = await _until(replay, agent.name, 1)
    replay.cancel()

    writer = asyncio.create_task(write())
    seen: list[int] = []
    position = registered
    try:
        for chunk in (7, 11, 13, 17):  # drop the stream mid-flow, resume from the last id
            call = _watch(server, after_event_id=position, agent=agent.name)
            seen += await _until(call, agent.name, chunk)
            call.cancel()
            position = seen[-1]
        call = _watch(server, after_event_id=position, agent=agent.name)
        seen += await _until(call, agent.name, writes - len(seen))
        call.cancel()
    finally:
        await writer
    assert len(seen) == writes
    assert seen == sorted(set(seen)) and seen[0] > registered
