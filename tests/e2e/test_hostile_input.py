"""Hostile input gets INVALID_ARGUMENT with the offending field, never INTERNAL.

NUL in any text field, names with control/bidi/zero-width characters, times
outside a Timestamp's range, tampered or forged page tokens, and bytes that are
not a request at all (including nesting past protobuf's recursion limit).
"""

from __future__ import annotations

import base64
import json

import grpc
import pytest
from agentregistry.v1 import (
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    auth_service_pb2,
    registry_service_pb2,
    resources_pb2,
    search_service_pb2,
    search_service_pb2_grpc,
)
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.protobuf.internal.encoder import _VarintBytes

from tests.factories import error_details, register, register_request

INVALID = grpc.StatusCode.INVALID_ARGUMENT


async def _fails(call, request, **kwargs):
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call(request, **kwargs)
    return error_details(raised.value)


@pytest.mark.parametrize(
    ("fields", "violation"),
    [
        ({"display_name": "Nul\x00Agent"}, "agent.display_name"),
        ({"description": "has a \x00 inside"}, "agent.description"),
        ({"endpoint_uri": "https://agent.example.com/\x00"}, "agent.endpoint_uri"),
        ({"metadata": {"k\x00": "v"}}, "agent.metadata['k\\x00']"),
        ({"metadata": {"k": "v\x00"}}, "agent.metadata['k']"),
        ({"tags": ["ok", "t\x00"]}, "agent.tags[1]"),
    ],
)
async def test_nul_anywhere_in_a_profile_is_invalid(registry, fields, violation) -> None:
    details = await _fails(registry.CreateAgent, register_request(**fields))
    assert (details.code, details.reason) == (INVALID, "TEXT_HAS_NUL")
    assert violation in details.fields


@pytest.mark.parametrize(
    "name",
    [
        "Tab\there",
        "Bell\x07",
        "Del\x7f",
        "C1\x85control",
        "Evil\u202eemanresu",  # right-to-left override
        "Iso\u2066late\u2069",
        "Zero\u200bwidth",
        "Joiner\u200d",
        "Word\u2060joiner",
        "\ufeffBOM",
    ],
)
async def test_unreadable_display_names_are_refused(registry, auth, name) -> None:
    details = await _fails(registry.CreateAgent, register_request(display_name=name))
    assert (details.code, details.fields) == (INVALID, ["agent.display_name"])
    agent = await register(registry, auth)
    update = registry_service_pb2.UpdateAgentRequest(
        agent=resources_pb2.Agent(name=agent.name, display_name=name),
        update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
    )
    details = await _fails(registry.UpdateAgent, update, metadata=agent.metadata)
    assert (details.code, details.fields) == (INVALID, ["agent.display_name"])


async def test_readable_unicode_names_still_register(registry) -> None:
    agent = await registry.CreateAgent(register_request(display_name="Café Agent 東京 🤖"))
    assert agent.display_name == "Café Agent 東京 🤖"


async def test_nul_in_search_filters_and_names(channel, registry) -> None:
    search = search_service_pb2_grpc.SearchServiceStub(channel)
    for request in [
        search_service_pb2.SearchAgentsRequest(
            query="x", filter=search_service_pb2.AgentFilter(tags=["a\x00"])
        ),
        search_service_pb2.SearchAgentsRequest(
            filter=search_service_pb2.AgentFilter(protocols=["grpc", "\x00"])
        ),
        search_service_pb2.SearchAgentsRequest(query="\x00"),
    ]:
        details = await _fails(search.SearchAgents, request)
        assert (details.code, details.reason) == (INVALID, "TEXT_HAS_NUL")
    details = await _fails(
        search.FindAgents, search_service_pb2.FindAgentsRequest(query="find \x00 me")
    )
    assert details.fields == ["query"]
    details = await _fails(
        registry.GetAgent, registry_service_pb2.GetAgentRequest(name="agents/ag_\x00")
    )
    assert (details.code, details.fields) == (INVALID, ["name"])


async def test_api_key_names_refuse_nul_and_invisible_characters(registry, auth) -> None:
    agent = await register(registry, auth)
    for display_name, reason in [("key\x00", "TEXT_HAS_NUL"), ("key\u200b", "INVALID_ARGUMENT")]:
        request = auth_service_pb2.CreateApiKeyRequest(
            parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name=display_name)
        )
        details = await _fails(auth.CreateApiKey, request, metadata=agent.metadata)
        assert (details.code, details.reason, details.fields) == (
            INVALID,
            reason,
            ["api_key.display_name"],
        )


@pytest.mark.parametrize(
    "stamp",
    [
        timestamp_pb2.Timestamp(seconds=253_402_300_800),  # 10000-01-01
        timestamp_pb2.Timestamp(seconds=-62_135_596_801),  # just before 0001-01-01
        timestamp_pb2.Timestamp(seconds=1, nanos=1_000_000_000),
        timestamp_pb2.Timestamp(seconds=1, nanos=-1),
    ],
)
async def test_timestamps_outside_their_range_are_invalid(channel, registry, auth, stamp) -> None:
    agent = await register(registry, auth)
    request = auth_service_pb2.CreateApiKeyRequest(
        parent=agent.name, api_key=auth_service_pb2.ApiKey(display_name="k", expire_time=stamp)
    )
    details = await _fails(auth.CreateApiKey, request, metadata=agent.metadata)
    assert (details.code, details.reason) == (INVALID, "TIMESTAMP_OUT_OF_RANGE")
    assert details.fields == ["api_key.expire_time"]
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
    other = await register(registry)
    claim = resources_pb2.Attestation(
        subject=other.name,
        behaviour=resources_pb2.BehaviourClaim(score=5),
        issue_time=stamp,
        signature=b"\x01" * 64,
    )
    details = await _fails(
        attestations.CreateAttestation,
        attestation_service_pb2.CreateAttestationRequest(attestation=claim),
        metadata=agent.metadata,
    )
    assert (details.code, details.fields) == (INVALID, ["attestation.issue_time"])


def _split(token: str) -> tuple[bytes, str]:
    payload, _, mac = token.partition(".")
    return base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)), mac


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_page_tokens_cannot_be_edited_moved_or_forged(channel, registry) -> None:
    for _ in range(3):
        await register(registry)
    page = await registry.ListAgents(registry_service_pb2.ListAgentsRequest(page_size=1))
    token = page.next_page_token
    assert token
    payload, mac = _split(token)
    cursor = json.loads(payload)
    edited = _b64(json.dumps([*cursor[:-1], "ag_zzzzzzzz"]).encode()) + "." + mac
    leaderboard = attestation_service_pb2_grpc.ReputationServiceStub(channel)
    forged_rank = _b64(json.dumps(["1e308", "ag_x"]).encode())
    forged = [
        edited,
        token + "x",
        token.split(".")[0],  # the MAC dropped
        _b64(json.dumps({"c": cursor, "s": "000000000000"}).encode()),  # the old unsigned form
        "%%%not-base64",
    ]
    for bad in forged:
        details = await _fails(
            registry.ListAgents, registry_service_pb2.ListAgentsRequest(page_token=bad)
        )
        assert (details.code, details.reason, details.fields) == (
            INVALID,
            "PAGE_TOKEN_INVALID",
            ["page_token"],
        )
    # A genuine token of another query (another scope) is refused there.
    for bad in (token, forged_rank, forged_rank + "." + mac):
        details = await _fails(
            leaderboard.ListLeaderboard,
            attestation_service_pb2.ListLeaderboardRequest(page_token=bad),
        )
        assert (details.code, details.reason) == (INVALID, "PAGE_TOKEN_INVALID")
    # The genuine token still pages.
    second = await registry.ListAgents(
        registry_service_pb2.ListAgentsRequest(page_size=1, page_token=token)
    )
    assert second.agents[0].name != page.agents[0].name


def _deep_groups(depth: int) -> bytes:
    """`depth` nested groups of an unknown field: valid wire format, nested past upb's limit."""
    start, end = _VarintBytes((1000 << 3) | 3), _VarintBytes((1000 << 3) | 4)
    return start * depth + end * depth


@pytest.mark.parametrize("payload", [b"\xff\xff\xff\xff", b"\x0a\x05ab", _deep_groups(1000)])
@pytest.mark.parametrize(
    "method",
    [
        "/agentregistry.v1.RegistryService/GetAgent",
        "/agentregistry.v1.RegistryService/CreateAgent",
        "/agentregistry.v1.SearchService/SearchAgents",
        "/agentregistry.v1.RegistryService/WatchEvents",
    ],
)
async def test_undecodable_requests_are_invalid(channel, method, payload) -> None:
    call = channel.unary_unary(
        method, request_serializer=lambda b: b, response_deserializer=lambda b: b
    )
    if method.endswith("WatchEvents"):
        call = channel.unary_stream(
            method, request_serializer=lambda b: b, response_deserializer=lambda b: b
        )
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        response = call(payload)
        if method.endswith("WatchEvents"):
            async for _ in response:
                pass
        else:
            await response
    details = error_details(raised.value)
    assert (details.code, details.reason) == (INVALID, "MALFORMED_REQUEST")
