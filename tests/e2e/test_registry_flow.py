"""The registry's main path through a real channel: register to delete."""

from __future__ import annotations

import grpc
import pytest
from agentregistry.v1 import auth_service_pb2, registry_service_pb2, resources_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import field_mask_pb2

from tests.factories import (
    AgentHandle,
    error_details,
    login,
    raw_public_key,
    register,
    register_request,
    rotate_message,
    session_signature,
)


async def test_register_returns_the_stored_agent(registry) -> None:
    key = Ed25519PrivateKey.generate()
    request = register_request(
        key,
        capabilities=["capabilities/code-generation"],
        tags=["Python", "python", "ci"],
        metadata={"team": "blue"},
    )
    agent = await registry.CreateAgent(request)

    assert agent.name.startswith("agents/ag_") and len(agent.name) == len("agents/ag_") + 16
    assert agent.public_key == raw_public_key(key)
    assert agent.display_name == request.agent.display_name
    assert list(agent.tags) == ["python", "ci"]
    assert list(agent.capabilities) == ["capabilities/code-generation"]
    assert dict(agent.metadata) == {"team": "blue"}
    assert agent.status == resources_pb2.AGENT_STATUS_OFFLINE
    assert agent.key_version == 1 and agent.etag
    assert agent.create_time.seconds > 0

    fetched = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=agent.name))
    assert fetched == agent


async def test_full_lifecycle(registry, auth) -> None:
    owner = await register(registry, auth)

    mask = field_mask_pb2.FieldMask(paths=["description", "tags"])
    changed = resources_pb2.Agent(name=owner.name, description="Now reviews code.", tags=["review"])
    updated = await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(agent=changed, update_mask=mask),
        metadata=owner.metadata,
    )
    assert updated.description == "Now reviews code."
    assert list(updated.tags) == ["review"]
    assert updated.display_name == owner.agent.display_name  # outside the mask: kept
    assert updated.etag != owner.agent.etag

    fetched = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
    assert fetched.description == "Now reviews code."

    with_capability = await registry.AddAgentCapability(
        registry_service_pb2.AddAgentCapabilityRequest(
            agent=owner.name, capability="capabilities/translation"
        ),
        metadata=owner.metadata,
    )
    assert "capabilities/translation" in with_capability.capabilities
    without = await registry.RemoveAgentCapability(
        registry_service_pb2.RemoveAgentCapabilityRequest(
            agent=owner.name, capability="capabilities/translation"
        ),
        metadata=owner.metadata,
    )
    assert "capabilities/translation" not in without.capabilities

    # Rotate: signed by the current key and the new one.
    new_key = Ed25519PrivateKey.generate()
    old_raw, new_raw = raw_public_key(owner.key), raw_public_key(new_key)
    message = rotate_message(owner.name, old_raw, new_raw)
    rotated = await registry.RotateAgentKey(
        registry_service_pb2.RotateAgentKeyRequest(
            name=owner.name,
            new_public_key=new_raw,
            signature=owner.key.sign(message),
            new_key_signature=new_key.sign(message),
        )
    )
    assert rotated.public_key == new_raw and rotated.key_version == 2

    # The old session and the old key no longer work; the new key does.
    with pytest.raises(grpc.aio.AioRpcError) as stale:
        await registry.DeleteAgent(
            registry_service_pb2.DeleteAgentRequest(name=owner.name), metadata=owner.metadata
        )
    assert error_details(stale.value).code == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as old_key:
        await login(auth, owner)
    assert error_details(old_key.value).reason == "SIGNATURE_INVALID"
    # Replaying the same rotation fails: it names a key that is no longer current.
    with pytest.raises(grpc.aio.AioRpcError) as replay:
        await registry.RotateAgentKey(
            registry_service_pb2.RotateAgentKeyRequest(
                name=owner.name,
                new_public_key=new_raw,
                signature=owner.key.sign(message),
                new_key_signature=new_key.sign(message),
            )
        )
    assert error_details(replay.value).code == grpc.StatusCode.INVALID_ARGUMENT

    rotated_owner = AgentHandle(new_key, rotated)
    await login(auth, rotated_owner)
    await registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=owner.name), metadata=rotated_owner.metadata
    )
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
    assert error_details(gone.value).code == grpc.StatusCode.NOT_FOUND
    # Its sessions ended with it.
    with pytest.raises(grpc.aio.AioRpcError) as dead_session:
        await registry.GetAgent(
            registry_service_pb2.GetAgentRequest(name=owner.name), metadata=rotated_owner.metadata
        )
    assert error_details(dead_session.value).code == grpc.StatusCode.UNAUTHENTICATED


async def test_list_pages_have_no_duplicates_or_gaps(registry) -> None:
    """Newest first in keyset pages, while other agents are being inserted between pages."""
    mine = [
        (await register(registry, type=resources_pb2.AGENT_TYPE_SERVICE)).name for _ in range(7)
    ]
    seen: list[resources_pb2.Agent] = []
    token = ""
    pages = 0
    while True:
        response = await registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(
                page_size=3, page_token=token, type=resources_pb2.AGENT_TYPE_SERVICE
            )
        )
        seen.extend(response.agents)
        pages += 1
        # Concurrent inserts land before the cursor, so they never shift later pages.
        await register(registry, type=resources_pb2.AGENT_TYPE_SERVICE)
        token = response.next_page_token
        if not token:
            break
        # A guard against pages that never end (inserts landing after the cursor), not a
        # count: the shared database holds however many service agents earlier tests made.
        assert pages < 500
    names = [a.name for a in seen]
    assert len(names) == len(set(names))
    assert [n for n in names if n in mine] == list(reversed(mine))
    keys = [(a.create_time.ToDatetime(), a.name) for a in seen]
    assert keys == sorted(keys, reverse=True)
    assert all(a.type == resources_pb2.AGENT_TYPE_SERVICE for a in seen)


async def test_list_default_and_capped_page_sizes(registry) -> None:
    for _ in range(3):
        await register(registry)
    response = await registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_size=2))
    assert len(response.agents) == 2 and response.next_page_token
    whole = await registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_size=100_000))
    assert 3 <= len(whole.agents) <= 500


async def test_capability_catalog(registry) -> None:
    first = await registry.ListCapabilities(
        registry_service_pb2.ListCapabilitiesRequest(page_size=10)
    )
    assert len(first.capabilities) == 10 and first.next_page_token
    rest = await registry.ListCapabilities(
        registry_service_pb2.ListCapabilitiesRequest(
            page_size=500, page_token=first.next_page_token
        )
    )
    names = [c.name for c in [*first.capabilities, *rest.capabilities]]
    assert len(names) >= 30 and names == sorted(names) and not rest.next_page_token
    travel = await registry.GetCapability(
        registry_service_pb2.GetCapabilityRequest(name="capabilities/travel-booking")
    )
    assert travel.display_name and travel.description and travel.synonyms


async def test_challenge_is_single_use(registry, auth) -> None:
    agent = await register(registry)
    challenge = await auth.CreateChallenge(
        auth_service_pb2.CreateChallengeRequest(agent=agent.name)
    )
    request = auth_service_pb2.CreateSessionRequest(
        challenge_id=challenge.challenge_id, signature=session_signature(agent.key, challenge.nonce)
    )
    session = await auth.CreateSession(request)
    assert session.agent == agent.name and session.token
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await auth.CreateSession(request)
    details = error_details(reused.value)
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CHALLENGE_INVALID")


async def test_session_ends_on_delete_session(registry, auth) -> None:
    agent = await register(registry, auth)
    await auth.DeleteSession(auth_service_pb2.DeleteSessionRequest(), metadata=agent.metadata)
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        await registry.DeleteAgent(
            registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
        )
    assert error_details(ended.value).reason == "SESSION_INVALID"
