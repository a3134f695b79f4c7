"""Bad input gets a precise status with field detail, and leaves nothing behind."""

from __future__ import annotations

import grpc
import pytest
from agentregistry.v1 import auth_service_pb2, registry_service_pb2, resources_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import field_mask_pb2

from tests.factories import (
    error_details,
    raw_public_key,
    register,
    register_request,
    session_signature,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def _fails(call, *args, **kwargs):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(*args, **kwargs)
    return error_details(raised.value)


async def _count_agents(registry) -> int:
    total, token = 0, ""
    while True:
        page = await registry.ListAgents(
            registry_service_pb2.ListAgentsRequest(page_size=500, page_token=token)
        )
        total += len(page.agents)
        token = page.next_page_token
        if not token:
            return total


@pytest.mark.parametrize(
    ("fields", "violation"),
    [
        ({"display_name": ""}, "agent.display_name"),
        ({"display_name": "   "}, "agent.display_name"),
        ({"display_name": "x" * 65}, "agent.display_name"),
        ({"description": "d" * 501}, "agent.description"),
        ({"endpoint_uri": "ftp://agent.example.com"}, "agent.endpoint_uri"),
        ({"endpoint_uri": "not a url"}, "agent.endpoint_uri"),
        ({"endpoint_uri": "https://" + "a" * 2050}, "agent.endpoint_uri"),
        ({"type": resources_pb2.AGENT_TYPE_UNSPECIFIED}, "agent.type"),
        ({"tags": [f"t{i}" for i in range(21)]}, "agent.tags"),
        ({"tags": ["has space"]}, "agent.tags[0]"),
        ({"tags": ["x" * 33]}, "agent.tags[0]"),
        ({"protocols": [f"p{i}" for i in range(11)]}, "agent.protocols"),
        ({"metadata": {f"k{i}": "v" for i in range(33)}}, "agent.metadata"),
        ({"metadata": {"k": "v" * 513}}, "agent.metadata['k']"),
        ({"metadata": {f"k{i}": "v" * 500 for i in range(20)}}, "agent.metadata"),
    ],
)
async def test_each_invalid_profile_field(registry, fields, violation) -> None:
    details = await _fails(registry.CreateAgent, register_request(**fields))
    assert details.code == INVALID
    assert details.reason == "INVALID_ARGUMENT"
    assert violation in details.fields


async def test_all_violations_reported_together(registry) -> None:
    request = register_request(display_name="", description="d" * 501)
    request.public_key = b"short"
    details = await _fails(registry.CreateAgent, request)
    assert {"agent.display_name", "agent.description", "public_key"} <= set(details.fields)


async def test_public_key_must_be_32_bytes(registry) -> None:
    request = register_request()
    request.public_key = request.public_key + b"\x00"
    details = await _fails(registry.CreateAgent, request)
    assert (details.code, details.fields) == (INVALID, ["public_key"])


async def test_wrong_registration_signature_writes_nothing(registry) -> None:
    before = await _count_agents(registry)
    request = register_request()
    request.signature = Ed25519PrivateKey.generate().sign(b"something else")
    details = await _fails(registry.CreateAgent, request)
    assert (details.code, details.reason, details.fields) == (
        INVALID,
        "SIGNATURE_INVALID",
        ["signature"],
    )
    assert await _count_agents(registry) == before


async def test_duplicate_public_key_is_already_exists(registry) -> None:
    key = Ed25519PrivateKey.generate()
    await registry.CreateAgent(register_request(key))
    details = await _fails(registry.CreateAgent, register_request(key))
    assert (details.code, details.reason) == (grpc.StatusCode.ALREADY_EXISTS, "PUBLIC_KEY_TAKEN")


async def test_unknown_capability_at_registration_writes_nothing(registry) -> None:
    key = Ed25519PrivateKey.generate()
    request = register_request(key, capabilities=["capabilities/no-such-thing"])
    details = await _fails(registry.CreateAgent, request)
    assert (details.code, details.reason) == (grpc.StatusCode.NOT_FOUND, "CAPABILITY_NOT_FOUND")
    # The key is still free: the failed write left no agent behind.
    agent = await registry.CreateAgent(register_request(key))
    assert agent.public_key == raw_public_key(key)


async def test_malformed_names(registry) -> None:
    for name in [
        "",
        "agents/",
        "agents/xyz",
        "users/ag_0123456789abcdef",
        "agents/ag_0123456789abcde!",
    ]:
        details = await _fails(registry.GetAgent, registry_service_pb2.GetAgentRequest(name=name))
        assert (details.code, details.fields) == (INVALID, ["name"])


async def test_unknown_agent_is_not_found(registry, auth) -> None:
    name = "agents/ag_0000000000000000"
    details = await _fails(registry.GetAgent, registry_service_pb2.GetAgentRequest(name=name))
    assert (details.code, details.reason) == (grpc.StatusCode.NOT_FOUND, "AGENT_NOT_FOUND")
    details = await _fails(
        auth.CreateChallenge, auth_service_pb2.CreateChallengeRequest(agent=name)
    )
    assert details.code == grpc.StatusCode.NOT_FOUND


async def test_bad_page_arguments(registry) -> None:
    details = await _fails(
        registry.ListAgents, registry_service_pb2.ListAgentsRequest(page_size=-1)
    )
    assert (details.code, details.fields) == (INVALID, ["page_size"])
    details = await _fails(
        registry.ListAgents, registry_service_pb2.ListAgentsRequest(page_token="bogus")
    )
    assert (details.code, details.fields) == (INVALID, ["page_token"])
    first = await registry.ListAgents(
        registry_service_pb2.ListAgentsRequest(page_size=1, type=resources_pb2.AGENT_TYPE_TOOL)
    )
    if first.next_page_token:  # a token from another filter is refused
        details = await _fails(
            registry.ListAgents,
            registry_service_pb2.ListAgentsRequest(page_token=first.next_page_token),
        )
        assert details.fields == ["page_token"]


async def test_writes_need_a_session_and_the_owner(registry, auth) -> None:
    owner = await register(registry, auth)
    other = await register(registry, auth)
    request = registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=owner.name, description="hijacked"),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]),
    )
    anonymous = await _fails(registry.UpdateAgent, request)
    assert (anonymous.code, anonymous.reason) == (
        grpc.StatusCode.UNAUTHENTICATED,
        "SESSION_REQUIRED",
    )
    denied = await _fails(registry.UpdateAgent, request, metadata=other.metadata)
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "NOT_OWNER")
    denied = await _fails(
        registry.DeleteAgent,
        registry_service_pb2.DeleteAgentRequest(name=owner.name),
        metadata=other.metadata,
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    bogus = await _fails(
        registry.GetAgent,
        registry_service_pb2.GetAgentRequest(name=owner.name),
        metadata=(("authorization", "Bearer not-a-token"),),
    )
    assert (bogus.code, bogus.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")
    malformed = await _fails(
        registry.GetAgent,
        registry_service_pb2.GetAgentRequest(name=owner.name),
        metadata=(("authorization", "Basic abc"),),
    )
    assert malformed.reason == "MALFORMED_AUTHORIZATION"
    fetched = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
    assert fetched.description == owner.agent.description


async def test_invalid_update_changes_nothing(registry, auth) -> None:
    owner = await register(registry, auth)
    bad_mask = registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=owner.name, public_key=b"x" * 32),
        update_mask=field_mask_pb2.FieldMask(paths=["public_key"]),
    )
    details = await _fails(registry.UpdateAgent, bad_mask, metadata=owner.metadata)
    assert (details.code, details.fields) == (INVALID, ["update_mask"])
    empty_mask = registry_service_pb2.UpdateAgentRequest(agent=resources_pb2.Agent(name=owner.name))
    details = await _fails(registry.UpdateAgent, empty_mask, metadata=owner.metadata)
    assert details.fields == ["update_mask"]
    bad_value = registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=owner.name, display_name="", description="new"),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name", "description"]),
    )
    details = await _fails(registry.UpdateAgent, bad_value, metadata=owner.metadata)
    assert details.fields == ["agent.display_name"]
    stale = registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=owner.name, description="new", etag="0000"),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]),
    )
    details = await _fails(registry.UpdateAgent, stale, metadata=owner.metadata)
    assert (details.code, details.reason) == (grpc.StatusCode.ABORTED, "ETAG_MISMATCH")
    fetched = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
    assert fetched == owner.agent


async def test_duplicate_and_missing_capability(registry, auth) -> None:
    owner = await register(registry, auth, capabilities=["capabilities/web-search"])
    add = registry_service_pb2.AddAgentCapabilityRequest(
        agent=owner.name, capability="capabilities/web-search"
    )
    details = await _fails(registry.AddAgentCapability, add, metadata=owner.metadata)
    assert (details.code, details.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "CAPABILITY_ALREADY_ADDED",
    )
    unknown = registry_service_pb2.AddAgentCapabilityRequest(
        agent=owner.name, capability="capabilities/time-travel"
    )
    details = await _fails(registry.AddAgentCapability, unknown, metadata=owner.metadata)
    assert (details.code, details.reason) == (grpc.StatusCode.NOT_FOUND, "CAPABILITY_NOT_FOUND")
    remove = registry_service_pb2.RemoveAgentCapabilityRequest(
        agent=owner.name, capability="capabilities/payments"
    )
    details = await _fails(registry.RemoveAgentCapability, remove, metadata=owner.metadata)
    assert (details.code, details.reason) == (grpc.StatusCode.NOT_FOUND, "CAPABILITY_NOT_OFFERED")


async def test_wrong_session_signature_and_used_challenge(registry, auth) -> None:
    agent = await register(registry)
    challenge = await auth.CreateChallenge(
        auth_service_pb2.CreateChallengeRequest(agent=agent.name)
    )
    wrong = Ed25519PrivateKey.generate()
    details = await _fails(
        auth.CreateSession,
        auth_service_pb2.CreateSessionRequest(
            challenge_id=challenge.challenge_id, signature=session_signature(wrong, challenge.nonce)
        ),
    )
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "SIGNATURE_INVALID")

    # A failed attempt used the challenge up; an expired one is refused the same way
    # (tests/service: the store's TTL, and the refusal once a moved clock passes it).
    details = await _fails(
        auth.CreateSession,
        auth_service_pb2.CreateSessionRequest(
            challenge_id=challenge.challenge_id,
            signature=session_signature(agent.key, challenge.nonce),
        ),
    )
    assert (details.code, details.reason) == (grpc.StatusCode.UNAUTHENTICATED, "CHALLENGE_INVALID")
    details = await _fails(
        auth.CreateSession,
        auth_service_pb2.CreateSessionRequest(challenge_id="x", signature=b"short"),
    )
    assert (details.code, details.fields) == (INVALID, ["signature"])
