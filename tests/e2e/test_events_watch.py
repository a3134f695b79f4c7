"""WatchEvents through a real channel: follow from now on, filter, resume from an id."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from agentregistry.v1 import registry_service_pb2, resources_pb2
from google.protobuf import field_mask_pb2

from tests.factories import AgentHandle, error_details, register

TIMEOUT_S = 20.0


async def update(registry, agent: AgentHandle, description: str) -> None:
    await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=agent.name, description=description),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=agent.metadata,
    )


async def take(call, count: int) -> list[resources_pb2.Event]:
    """The next `count` changes; keepalives are skipped, as consumers do."""
    events: list[resources_pb2.Event] = []
    async with asyncio.timeout(TIMEOUT_S):
        async for event in call:
            if event.type == resources_pb2.EVENT_TYPE_KEEPALIVE:
                continue
            events.append(event)
            if len(events) == count:
                break
    call.cancel()
    return events


async def test_replay_then_resume_from_an_id(registry, auth) -> None:
    agent = await register(registry, auth)
    for n in range(3):
        await update(registry, agent, f"v{n}")
    # after_event_id=1 replays (nearly) the whole retained feed; the filters keep our updates.
    replay = registry.WatchEvents(
        registry_service_pb2.WatchEventsRequest(
            after_event_id=1, agent=agent.name, types=[resources_pb2.EVENT_TYPE_AGENT_UPDATED]
        )
    )
    events = await take(replay, 3)
    assert [e.agent for e in events] == [agent.name] * 3
    assert [e.id for e in events] == sorted(e.id for e in events)
    assert all(e.WhichOneof("payload") == "agent_updated" for e in events)
    assert list(events[0].agent_updated.update_mask.paths) == ["description"]

    # A consumer that stored events[0].id resumes after it, then follows new commits.
    resumed = registry.WatchEvents(
        registry_service_pb2.WatchEventsRequest(after_event_id=events[0].id, agent=agent.name)
    )
    await update(registry, agent, "v3")
    again = await take(resumed, 3)
    assert [e.id for e in again[:2]] == [events[1].id, events[2].id]
    assert again[2].id > events[2].id


async def test_from_now_on_with_a_type_filter(registry, auth) -> None:
    agent = await register(registry, auth)
    call = registry.WatchEvents(
        registry_service_pb2.WatchEventsRequest(
            types=[resources_pb2.EVENT_TYPE_AGENT_UPDATED], agent=agent.name
        )
    )

    async def keep_updating() -> None:
        for n in range(200):  # bounded: until the stream (started concurrently) sees one
            await update(registry, agent, f"n{n}")
            await asyncio.sleep(0.05)

    writer = asyncio.create_task(keep_updating())
    try:
        [first] = await take(call, 1)
    finally:
        writer.cancel()
    # Registration happened before the stream: "from now on" skips it, the filter too.
    assert (first.type, first.agent) == (resources_pb2.EVENT_TYPE_AGENT_UPDATED, agent.name)


async def test_bad_filters_are_invalid(registry) -> None:
    call = registry.WatchEvents(registry_service_pb2.WatchEventsRequest(agent="nope"))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await take(call, 1)
    assert error_details(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_caught_up_stream_says_where_it_stands(registry, auth) -> None:
    agent = await register(registry, auth)
    call = registry.WatchEvents(registry_service_pb2.WatchEventsRequest(agent=agent.name))
    async with asyncio.timeout(TIMEOUT_S):
        first = await call.read()
    call.cancel()
    assert first.type == resources_pb2.EVENT_TYPE_KEEPALIVE and first.agent == "" and first.id > 0
