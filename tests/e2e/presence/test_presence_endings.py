"""How a heartbeat stream ends, through real channels: each ending's status code and
ErrorInfo reason as documented, on whichever instance the stream is held, and presence
offline where the agent may no longer be. (Endings with beats in flight, which grpcio's
client may misreport, are the fault suite's supersede storm.)

Two instances share one presence namespace: an operator's call on one ends a stream held
on the other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from agentregistry.v1 import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    auth_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from agentregistry.v1 import presence_service_pb2 as pb

from db.engine import session_factory
from db.uow import UnitOfWorkFactory
from server.auth.api_keys import ApiKeyService
from server.backing import BackingServices
from tests.e2e.servers import Instance, instance
from tests.factories import AgentHandle, error_details, register
from tests.presence_support import Beats, presence_settings

Metadata = tuple[tuple[str, str], ...]
WAIT_S = 10.0


@pytest.fixture(scope="module")
async def pair(backing: BackingServices) -> AsyncIterator[tuple[Instance, Instance]]:
    namespace = f"presence-test-{uuid.uuid4().hex[:8]}"
    async with (
        instance(presence_settings(backing, presence_namespace=namespace), backing) as a,
        instance(presence_settings(backing, presence_namespace=namespace), backing) as b,
    ):
        yield a, b


@pytest.fixture(scope="module")
async def operator(pair: tuple[Instance, Instance]) -> Metadata:
    app = pair[0].app
    keys = ApiKeyService(UnitOfWorkFactory(session_factory(app.engine)), app.redis)
    _, secret = await keys.create_operator_key("stream endings")
    return (("x-api-key", secret),)


def _presence(server: Instance) -> presence_service_pb2_grpc.PresenceServiceStub:
    return presence_service_pb2_grpc.PresenceServiceStub(server.channel)


async def _live(server: Instance, agent: AgentHandle) -> Beats:
    """A stream on `server`, acked once (an agent then waits for its next beat)."""
    beats = Beats(_presence(server), agent.metadata)
    beats.send(1)
    assert (await beats.next()).ack.sequence == 1
    return beats


async def _ending(beats: Beats) -> tuple[grpc.StatusCode, str]:
    details = error_details(await beats.error(within_s=WAIT_S))
    return details.code, details.reason


async def _offline(server: Instance, agent: AgentHandle) -> pb.Presence:
    """GetPresence once it reads offline with no stream; fails the test past WAIT_S."""
    request = pb.GetPresenceRequest(name=f"{agent.name}/presence")
    presence = await _presence(server).GetPresence(request)
    for _ in range(int(WAIT_S / 0.05)):
        if presence.status == resources_pb2.AGENT_STATUS_OFFLINE and not presence.streaming:
            return presence
        await asyncio.sleep(0.05)
        presence = await _presence(server).GetPresence(request)
    raise AssertionError(f"still present: {presence}")


async def test_a_newer_stream_on_another_instance_supersedes_a_beating_one(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    older = await _live(a, agent)
    newer = await _live(b, agent)
    assert await _ending(older) == (grpc.StatusCode.ABORTED, "STREAM_SUPERSEDED")
    newer.close()
    assert await newer.call.code() == grpc.StatusCode.OK


async def test_suspending_an_agent_ends_its_stream_everywhere_and_it_reads_offline(
    pair: tuple[Instance, Instance], operator: Metadata
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    beats = await _live(b, agent)
    admin = admin_service_pb2_grpc.AdminServiceStub(a.channel)
    await admin.SuspendAgent(
        admin_service_pb2.SuspendAgentRequest(name=agent.name, reason="stream endings"),
        metadata=operator,
    )
    assert await _ending(beats) == (grpc.StatusCode.PERMISSION_DENIED, "AGENT_SUSPENDED")
    for server in (a, b):
        await _offline(server, agent)
    reopened = Beats(_presence(a), agent.metadata)
    reopened.send(1)
    assert await _ending(reopened) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")


async def test_taking_an_agent_down_ends_its_stream_everywhere_and_it_reads_offline(
    pair: tuple[Instance, Instance], operator: Metadata
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    beats = await _live(b, agent)
    admin = admin_service_pb2_grpc.AdminServiceStub(a.channel)
    await admin.TakeDownAgent(
        admin_service_pb2.TakeDownAgentRequest(name=agent.name, reason="stream endings"),
        metadata=operator,
    )
    assert await _ending(beats) == (grpc.StatusCode.NOT_FOUND, "AGENT_TAKEN_DOWN")
    await _offline(b, agent)


async def test_deleting_an_agent_ends_its_beating_stream_on_another_instance(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    beats = await _live(b, agent)
    await a.registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
    )
    assert await _ending(beats) == (grpc.StatusCode.NOT_FOUND, "AGENT_DELETED")


async def test_a_refused_reopen_ends_unauthenticated_while_the_sessions_stream_is_live(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    live = await _live(a, agent)
    await a.auth.DeleteSession(auth_service_pb2.DeleteSessionRequest(), metadata=agent.metadata)
    for _ in range(20):  # each reopen beats at once, as an agent's client does
        reopened = Beats(_presence(b), agent.metadata)
        reopened.send(1)
        assert await _ending(reopened) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")
    live.close()


async def test_a_deleted_agents_api_key_opens_no_stream(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    agent = await register(a.registry, a.auth)
    key = await a.auth.CreateApiKey(
        auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name="beats")
        ),
        metadata=agent.metadata,
    )
    await a.registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
    )
    for _ in range(20):
        beats = Beats(_presence(b), (("x-api-key", key.key),))
        beats.send(1)
        code, _ = await _ending(beats)
        assert code == grpc.StatusCode.UNAUTHENTICATED


async def test_a_stopping_server_ends_its_streams_unavailable(backing: BackingServices) -> None:
    async with instance(presence_settings(backing), backing) as server:
        agent = await register(server.registry, server.auth)
        beats = await _live(server, agent)
        await server.app.stop(5.0)
        assert await _ending(beats) == (grpc.StatusCode.UNAVAILABLE, "SERVER_RESTARTING")
