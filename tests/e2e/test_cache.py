"""Cache-aside reads: hits after the first read, no stale read after a write on any instance."""

from __future__ import annotations

from agentregistry.v1 import (
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from google.protobuf import field_mask_pb2

from server.call import EDGE_MARKER
from tests.e2e.servers import instance
from tests.factories import login, register


async def test_second_read_is_a_cache_hit(registry, registry_server) -> None:
    agent = await register(registry)
    cache = registry_server.cache
    request = registry_service_pb2.GetAgentRequest(name=agent.name)
    first = await registry.GetAgent(request)
    hits_before, misses_before = cache.hits, cache.misses
    second = await registry.GetAgent(request)
    assert second == first
    assert (cache.hits, cache.misses) == (hits_before + 1, misses_before)


async def test_write_on_one_instance_is_seen_by_the_next_read_on_another(
    registry, auth, settings, backing
) -> None:
    """Instances share Redis; the writer bumps the generation, so B never serves the old row."""
    owner = await register(registry, auth)
    get = registry_service_pb2.GetAgentRequest(name=owner.name)
    async with instance(settings, backing) as other:
        assert (await other.registry.GetAgent(get)).description == owner.agent.description
        await other.registry.GetAgent(get)  # now cached on B's side of the shared cache
        listed = await other.registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(page_size=5)
        )
        assert owner.name in [a.name for a in listed.agents]

        await registry.UpdateAgent(
            registry_service_pb2.UpdateAgentRequest(
                agent=resources_pb2.Agent(name=owner.name, description="Changed on A."),
                update_mask=field_mask_pb2.FieldMask(paths=["description"]),
            ),
            metadata=owner.metadata,
        )
        assert (await other.registry.GetAgent(get)).description == "Changed on A."
        listed = await other.registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(page_size=5)
        )
        by_name = {a.name: a for a in listed.agents}
        assert by_name[owner.name].description == "Changed on A."

        # A session made on B works on A: nothing lives in one process's memory.
        await login(other.auth, owner)
        await registry.DeleteAgent(
            registry_service_pb2.DeleteAgentRequest(name=owner.name), metadata=owner.metadata
        )


async def test_capability_counts_are_not_served_stale(registry, auth) -> None:
    name = "capabilities/weather"
    get = registry_service_pb2.GetCapabilityRequest(name=name)
    before = (await registry.GetCapability(get)).agent_count
    await registry.GetCapability(get)
    await register(registry, capabilities=[name])
    assert (await registry.GetCapability(get)).agent_count == before + 1


async def test_http_cache_headers_go_only_to_calls_from_an_http_edge(registry) -> None:
    """Native gRPC clients get no cache-control/etag metadata; edge-marked calls do."""
    agent = await register(registry)
    request = registry_service_pb2.GetAgentRequest(name=agent.name)
    native = registry.GetAgent(request)
    await native
    assert not {key for key, _ in await native.initial_metadata()} & {"cache-control", "etag"}
    edge = registry.GetAgent(request, metadata=(EDGE_MARKER,))
    await edge
    headers = dict(await edge.initial_metadata())
    # Capped at the heartbeat interval (live presence), and sent with the rest of the
    # response metadata as initial metadata, which Envoy turns into HTTP headers.
    assert headers["cache-control"] == "public, max-age=30"
    assert headers["etag"].startswith('"') and headers["etag"] != f'"{(await edge).etag}"'
    assert headers["x-request-id"]


async def test_presence_is_live_on_a_miss_and_with_the_cache_off(
    registry, auth, channel, settings, backing
) -> None:
    """GetAgent reads the agent's live state with its lookup (a miss) or with its budget
    count (cache off): a beat that Postgres has not seen yet shows either way."""
    owner = await register(registry, auth)
    presence = presence_service_pb2_grpc.PresenceServiceStub(channel)
    beat = await presence.SendHeartbeat(
        presence_service_pb2.SendHeartbeatRequest(
            name=owner.name, status=resources_pb2.AGENT_STATUS_BUSY
        ),
        metadata=owner.metadata,
    )
    get = registry_service_pb2.GetAgentRequest(name=owner.name)
    first = await registry.GetAgent(get)  # the first read of this agent: a miss
    assert first.status == resources_pb2.AGENT_STATUS_BUSY
    beat_ms = beat.server_time.ToMilliseconds()  # presence keeps milliseconds, rounded
    assert abs(first.last_seen_time.ToMilliseconds() - beat_ms) <= 1
    async with instance(settings.model_copy(update={"cache_enabled": False}), backing) as off:
        uncached = await off.registry.GetAgent(get)
        assert uncached.status == resources_pb2.AGENT_STATUS_BUSY
        assert abs(uncached.last_seen_time.ToMilliseconds() - beat_ms) <= 1
        assert off.app.cache.hits == 0
