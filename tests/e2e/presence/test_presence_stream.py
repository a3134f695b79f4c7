"""The heartbeat stream through a real channel: auth, handshake, acks, supersede, silence,
pushes, and calls cancelled while they open."""

from __future__ import annotations

import asyncio

import grpc
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import registry_service_pb2, resources_pb2

from server.domain.names import parse_agent_name
from server.presence.streams import NewInterval, Reconnect
from tests.factories import error_details, register
from tests.presence_support import INTERVAL_S, TTL_S, Beats, PresenceClient, StatementCounter


async def _presence(client: PresenceClient, name: str) -> pb.Presence:
    return await client.presence.GetPresence(pb.GetPresenceRequest(name=f"{name}/presence"))


async def test_stream_without_token_ends_unauthenticated(presence_client: PresenceClient) -> None:
    # No beat is written: the server ends the call before reading one, and a write racing that
    # status fails on the client as a local INTERNAL ("Internal error from Core"), not the
    # server's code.
    beats = Beats(presence_client.presence, metadata=())
    error = await beats.error()
    assert error_details(error).code == grpc.StatusCode.UNAUTHENTICATED
    assert error_details(error).reason == "SESSION_REQUIRED"


async def test_stream_with_unknown_or_expired_token_ends_unauthenticated(
    presence_client: PresenceClient,
) -> None:
    beats = Beats(presence_client.presence, metadata=(("authorization", "Bearer expired-token"),))
    error = await beats.error()
    assert error_details(error).code == grpc.StatusCode.UNAUTHENTICATED
    assert error_details(error).reason == "SESSION_INVALID"


async def test_first_ack_carries_interval_and_ttl_and_each_beat_is_acked(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    for sequence in (1, 2, 3):
        beats.send(sequence)
    first, second, third = [(await beats.next()).ack for _ in range(3)]
    assert first.interval.ToMilliseconds() == INTERVAL_S * 1000
    assert first.ttl.ToMilliseconds() == TTL_S * 1000
    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.status == resources_pb2.AGENT_STATUS_ONLINE
    assert not second.HasField("interval")
    beats.close()
    assert await beats.call.code() == grpc.StatusCode.OK


async def test_status_from_a_beat_is_live_in_get_agent_and_lists(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(1, status=resources_pb2.AGENT_STATUS_BUSY, load=0.5)
    assert (await beats.next()).ack.status == resources_pb2.AGENT_STATUS_BUSY
    await asyncio.sleep(0.2)  # the coalesced write lands within presence_write_interval_ms
    fetched = await presence_client.registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=agent.name)
    )
    assert fetched.status == resources_pb2.AGENT_STATUS_BUSY
    assert fetched.HasField("last_seen_time")
    listed = await presence_client.registry.ListAgents(
        registry_service_pb2.ListAgentsRequest(page_size=500)
    )
    mine = [a for a in listed.agents if a.name == agent.name]
    assert mine and mine[0].status == resources_pb2.AGENT_STATUS_BUSY
    presence = await _presence(presence_client, agent.name)
    assert presence.streaming and abs(presence.load - 0.5) < 1e-6
    beats.close()


async def test_a_second_stream_supersedes_the_first(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    old = Beats(presence_client.presence, agent.metadata)
    old.send(1)
    await old.next()
    new = Beats(presence_client.presence, agent.metadata)
    new.send(1)
    await new.next()
    error = await old.error()
    assert error_details(error).code == grpc.StatusCode.ABORTED
    assert error_details(error).reason == "STREAM_SUPERSEDED"
    new.send(2)
    assert (await new.next()).ack.sequence == 2
    new.close()


async def test_a_silent_stream_is_closed_by_the_server(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(1)
    await beats.next()
    error = await beats.error(within_s=TTL_S * 10)
    assert error_details(error).code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert error_details(error).reason == "HEARTBEAT_TIMEOUT"


async def test_an_invalid_beat_ends_the_stream(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(1, load=2.0)
    error = await beats.error()
    assert error_details(error).code == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(error).fields == ["load"]


async def test_beats_write_nothing_to_postgres(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(0)
    await beats.next()
    with StatementCounter(presence_client.app) as counter:
        for sequence in range(1, 21):
            beats.send(sequence, load=sequence / 20)
            assert (await beats.next()).ack.sequence == sequence
        await asyncio.sleep(0.1)  # let the coalesced writes happen inside the window
    assert counter.statements == []
    assert (await _presence(presence_client, agent.name)).load == 1.0
    beats.close()


async def test_deleting_an_agent_closes_its_stream_and_presence(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(1)
    await beats.next()
    await presence_client.registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
    )
    error = await beats.error()
    assert error_details(error).code == grpc.StatusCode.NOT_FOUND
    assert error_details(error).reason == "AGENT_DELETED"
    try:
        await _presence(presence_client, agent.name)
        raise AssertionError("presence of a deleted agent")
    except grpc.aio.AioRpcError as missing:
        assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_pushes_leave_in_order_and_before_the_streams_end(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(1)
    await beats.next()
    assert presence_client.app.presence is not None
    streams = presence_client.app.presence.service.streams
    agent_id = parse_agent_name(agent.name, "name")
    assert streams.push(agent_id, NewInterval(2.0))
    assert streams.push(agent_id, Reconnect("maintenance", 3.0))
    streams.drain("restarting", 1.0)  # one more reconnect, then the end, queued at once
    first, second, third = [await beats.next() for _ in range(3)]
    assert first.new_interval.ToMilliseconds() == 2000
    assert second.reconnect.reason == "maintenance"
    assert third.reconnect.reason == "restarting"
    error = await beats.error()
    assert error_details(error).code == grpc.StatusCode.UNAVAILABLE
    assert error_details(error).reason == "SERVER_RESTARTING"


async def test_an_offline_beat_is_acked_and_ends_the_stream_ok(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    beats = Beats(presence_client.presence, agent.metadata)
    beats.send(1)
    await beats.next()
    beats.send(2, status=resources_pb2.AGENT_STATUS_OFFLINE)
    ack = (await beats.next()).ack
    assert (ack.sequence, ack.status) == (2, resources_pb2.AGENT_STATUS_OFFLINE)
    assert await beats.call.read() is grpc.aio.EOF
    assert await beats.call.code() == grpc.StatusCode.OK


async def test_streams_cancelled_while_opening_leave_no_claim(
    presence_client: PresenceClient,
) -> None:
    # However far each opening got (its claim in flight, landed, or acked), a cancelled
    # call gives its claim up again.
    agent = await register(presence_client.registry, presence_client.auth)
    for delay_s in (0.0, 0.001, 0.003, 0.01, 0.05):
        beats = Beats(presence_client.presence, agent.metadata)
        beats.send(1)
        await asyncio.sleep(delay_s)
        beats.call.cancel()
    async with asyncio.timeout(5.0):  # releases ride the coalescer's next tick
        while (await _presence(presence_client, agent.name)).streaming:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
