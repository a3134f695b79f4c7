"""SendHeartbeat, SetStatus and GetPresence: the unary side of the same presence logic."""

from __future__ import annotations

import grpc
import pytest
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import registry_service_pb2, resources_pb2
from agentregistry.v1 import search_service_pb2 as search_pb

from tests.e2e.search_support import search_stub
from tests.factories import error_details, register
from tests.presence_support import (
    INTERVAL_S,
    PresenceClient,
    StatementCounter,
    searchable_agent,
    set_status,
)


async def test_send_heartbeat_makes_the_agent_online(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    before = await presence_client.presence.GetPresence(
        pb.GetPresenceRequest(name=f"{agent.name}/presence")
    )
    assert before.status == resources_pb2.AGENT_STATUS_OFFLINE
    assert not before.HasField("last_seen_time")
    ack = await presence_client.presence.SendHeartbeat(
        pb.SendHeartbeatRequest(name=agent.name, sequence=7, load=0.25), metadata=agent.metadata
    )
    assert ack.sequence == 7 and ack.status == resources_pb2.AGENT_STATUS_ONLINE
    assert ack.interval.ToMilliseconds() == INTERVAL_S * 1000
    after = await presence_client.presence.GetPresence(
        pb.GetPresenceRequest(name=f"{agent.name}/presence")
    )
    assert after.status == resources_pb2.AGENT_STATUS_ONLINE
    assert after.HasField("last_seen_time") and not after.streaming


async def test_set_status_is_read_back_at_once(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    presence = await presence_client.presence.SetStatus(
        pb.SetStatusRequest(name=agent.name, status=resources_pb2.AGENT_STATUS_MAINTENANCE),
        metadata=agent.metadata,
    )
    assert presence.status == resources_pb2.AGENT_STATUS_MAINTENANCE
    fetched = await presence_client.registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=agent.name)
    )
    assert fetched.status == resources_pb2.AGENT_STATUS_MAINTENANCE
    # A beat without a status keeps the one set.
    ack = await presence_client.presence.SendHeartbeat(
        pb.SendHeartbeatRequest(name=agent.name), metadata=agent.metadata
    )
    assert ack.status == resources_pb2.AGENT_STATUS_MAINTENANCE


@pytest.mark.parametrize("status", [resources_pb2.AGENT_STATUS_UNSPECIFIED, 99])
async def test_set_status_rejects_missing_or_unknown_status(
    presence_client: PresenceClient, status: int
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await presence_client.presence.SetStatus(
            pb.SetStatusRequest(name=agent.name, status=status),  # type: ignore[arg-type]
            metadata=agent.metadata,
        )
    assert error_details(caught.value).code == grpc.StatusCode.INVALID_ARGUMENT
    assert error_details(caught.value).fields == ["status"]


async def test_writes_need_the_agents_own_session(presence_client: PresenceClient) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    other = await register(presence_client.registry, presence_client.auth)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await presence_client.presence.SendHeartbeat(
            pb.SendHeartbeatRequest(name=agent.name), metadata=other.metadata
        )
    assert error_details(caught.value).reason == "NOT_OWNER"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await presence_client.presence.SetStatus(
            pb.SetStatusRequest(name=agent.name, status=resources_pb2.AGENT_STATUS_BUSY)
        )
    assert error_details(caught.value).code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_cached_search_page_shows_status_set_after_it_was_cached(
    presence_client: PresenceClient,
) -> None:
    agent, topic = await searchable_agent(presence_client)
    search = search_stub(presence_client.channel)
    request = search_pb.SearchAgentsRequest(query=topic)
    first = await search.SearchAgents(request)  # ranked, then cached
    assert [r.agent.status for r in first.results] == [resources_pb2.AGENT_STATUS_OFFLINE]
    await set_status(presence_client, agent, resources_pb2.AGENT_STATUS_MAINTENANCE)
    with StatementCounter(presence_client.app) as counter:
        again = await search.SearchAgents(request)
    assert counter.statements == []  # the cached page, with presence merged in
    [result] = again.results
    assert result.agent.status == resources_pb2.AGENT_STATUS_MAINTENANCE
    assert result.agent.last_seen_time.seconds > 0
