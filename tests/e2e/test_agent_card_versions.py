"""A2A 1.x and 0.3 cards: a 1.x card's endpoint comes from `supportedInterfaces`, and
exports speak the line asked for (`A2A-Version`), valid under the SDK's own models."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest
from a2a.client.card_resolver import A2ACardResolver, parse_agent_card
from a2a.compat.v0_3 import types as v03
from a2a.types import AgentCard
from a2a.utils.proto_utils import validate_proto_required_fields
from a2a.utils.signing import create_signature_verifier
from agentregistry.v1 import agent_card_service_pb2 as pb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import json_format, struct_pb2

from server.settings import Settings
from tests.card_support import cards_stub
from tests.e2e.search_support import word
from tests.factories import error_details, raw_public_key, register, register_signature
from tests.sdk_cards import served_v1, sign_v1, v1_card


def _valid_v1(card: dict[str, Any]) -> AgentCard:
    """Parsed strictly (no unknown field) and every REQUIRED field present."""
    message = json_format.ParseDict(card, AgentCard())
    validate_proto_required_fields(message)
    return message


async def _import(channel: grpc.aio.Channel, card: dict[str, Any], key: Ed25519PrivateKey) -> Any:
    request = pb.ImportAgentCardRequest(
        public_key=raw_public_key(key), signature=register_signature(key)
    )
    request.card.CopyFrom(struct_pb2.Struct())
    request.card.update(card)
    return await cards_stub(channel).ImportAgentCard(request)


async def _export(channel: grpc.aio.Channel, name: str, version: str | None) -> dict[str, Any]:
    metadata = (("a2a-version", version),) if version is not None else None
    card = await cards_stub(channel).GetAgentCard(
        pb.GetAgentCardRequest(name=name), metadata=metadata
    )
    return json_format.MessageToDict(card)


async def test_a_1x_card_gives_its_interface_and_round_trips_in_both_lines(channel) -> None:
    key = Ed25519PrivateKey.generate()
    card = served_v1(sign_v1(v1_card(f"Lusitano {word()}", legacy_interface=False), key))

    response = await _import(channel, card, key)
    name = response.agent.name
    current, explicit, legacy = [
        await _export(channel, name, version) for version in (None, "1.0", "0.3.0")
    ]

    assert response.agent.endpoint_uri == "https://translator.example.com/a2a"
    assert dict(response.agent.metadata) == {
        "a2a.version": "2.1.0",
        "a2a.protocol_version": "1.0",
        "a2a.protocol_binding": "JSONRPC",
        "a2a.provider": "Example Ltd",
        "a2a.provider_url": "https://example.com",
    }
    assert current == explicit
    assert current["supportedInterfaces"] == [
        {
            "url": "https://translator.example.com/a2a",
            "protocolBinding": "JSONRPC",
            "protocolVersion": "1.0",
        }
    ]
    assert "url" not in current and "protocolVersion" not in current
    assert current["provider"] == {"organization": "Example Ltd", "url": "https://example.com"}
    _valid_v1(current)
    v03.AgentCard.model_validate(legacy)
    assert legacy["url"] == "https://translator.example.com/a2a"
    assert (legacy["protocolVersion"], legacy["preferredTransport"]) == ("0.3.0", "JSONRPC")
    # The 1.x SDK's resolver finds the interface to call in either line's export.
    for exported in (current, legacy):
        resolved = parse_agent_card(dict(exported))
        assert resolved.supported_interfaces[0].url == "https://translator.example.com/a2a"


async def test_every_card_the_registry_builds_is_valid_under_the_sdk(
    channel, registry, settings: Settings
) -> None:
    """Agents registered without a card, however little their profile says."""
    bare = await register(
        registry, display_name=f"Bare {word()}", description="", endpoint_uri="", tags=[]
    )
    nowhere = await register(
        registry,
        display_name=f"Nowhere {word()}",
        endpoint_uri="",
        capabilities=["capabilities/summarization"],
    )
    full = await register(
        registry,
        display_name=f"Full {word()}",
        endpoint_uri="https://full.example.com/a2a",
        capabilities=["capabilities/summarization", "capabilities/translation"],
    )

    for agent in (bare, nowhere, full):
        current = await _export(channel, agent.name, None)
        legacy = await _export(channel, agent.name, "0.3")
        _valid_v1(current)
        v03.AgentCard.model_validate(legacy)
        address = agent.agent.endpoint_uri or f"{settings.registry_url}/{agent.name}"
        assert current["supportedInterfaces"][0]["url"] == address
        assert legacy["url"] == address and legacy["protocolVersion"] == "0.3.0"
        assert "provider" not in current and "provider" not in legacy
        # The registry's own view goes in its extension, in both lines.
        for card in (current, legacy):
            (extension,) = card["capabilities"]["extensions"]
            assert extension["uri"] == "https://agentregistry.dev/a2a/extensions/registry/v1"
            assert extension["params"]["agent"] == agent.name
            assert extension["params"]["status"] == "offline"
            assert extension["params"].get("endpoint", True) is bool(agent.agent.endpoint_uri)
            # The 1.x SDK's resolver reads either line's export and finds the address.
            assert parse_agent_card(dict(card)).supported_interfaces[0].url == address
    bare_card = await _export(channel, bare.name, None)
    assert bare_card["description"] == bare.agent.display_name
    assert [s["id"] for s in bare_card["skills"]] == ["agent"]
    nowhere_card = await _export(channel, nowhere.name, None)
    assert [s["id"] for s in nowhere_card["skills"]] == ["summarization"]
    assert nowhere_card["capabilities"]["extensions"][0]["params"]["capabilities"] == [
        "capabilities/summarization"
    ]


async def test_an_unknown_version_is_refused(channel, registry) -> None:
    agent = await register(registry, display_name=f"Versioned {word()}")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _export(channel, agent.name, "2.0")
    details = error_details(caught.value)
    assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, ["A2A-Version"])


async def test_the_version_header_reaches_the_export_through_envoy(
    registry, http: httpx.AsyncClient
) -> None:
    agent = await register(
        registry,
        display_name=f"Edge {word()}",
        endpoint_uri="https://edge.example.com/a2a",
        capabilities=["capabilities/summarization"],
    )
    path = f"/v1/{agent.name}/card"

    current = (await http.get(path)).json()
    legacy = (await http.get(path, headers={"A2A-Version": "0.3"})).json()
    refused = await http.get(path, headers={"A2A-Version": "9"})

    _valid_v1(current)
    v03.AgentCard.model_validate(legacy)
    assert legacy["url"] == current["supportedInterfaces"][0]["url"]
    assert refused.status_code == 400


async def test_bad_interfaces_name_the_card_fields(channel) -> None:
    key = Ed25519PrivateKey.generate()
    base = served_v1(v1_card(f"Interfaces {word()}", legacy_interface=False))
    interface = base["supportedInterfaces"][0]
    cases = [
        ("card.supportedInterfaces", {**base, "supportedInterfaces": "https://x"}),
        (
            "card.supportedInterfaces[0].protocolVersion",
            {**base, "supportedInterfaces": [{**interface, "protocolVersion": 1}]},
        ),
        (
            "card.supportedInterfaces[1].url",
            {**base, "supportedInterfaces": [{"url": ""}, {**interface, "url": "ftp://x"}]},
        ),
    ]
    for field, card in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _import(channel, card, key)
        details = error_details(caught.value)
        assert (details.code, details.fields[:1]) == (grpc.StatusCode.INVALID_ARGUMENT, [field])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _import(channel, {**base, "supportedInterfaces": [interface] * 17}, key)
    details = error_details(caught.value)
    assert (details.reason, details.fields) == (
        "DOCUMENT_LIMIT_EXCEEDED",
        ["card.supportedInterfaces"],
    )


async def test_each_agent_has_a_cacheable_well_known_card_url(
    channel, http: httpx.AsyncClient
) -> None:
    key = Ed25519PrivateKey.generate()
    card = served_v1(sign_v1(v1_card(f"Lusitano {word()}", legacy_interface=False), key))
    name = (await _import(channel, card, key)).agent.name
    path = f"/{name}/.well-known/agent-card.json"

    first = await http.get(path)
    again = await http.get(path, headers={"if-none-match": first.headers["etag"]})
    legacy = await http.get(path, headers={"A2A-Version": "0.3"})
    missing = await http.get("/agents/ag_0000000000000000/.well-known/agent-card.json")

    assert first.status_code == 200 and first.json() == card
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert "A2A-Version" in first.headers["vary"]
    assert again.status_code == 304
    v03.AgentCard.model_validate(legacy.json())
    assert missing.status_code == 404
    # The SDK's own resolver finds it as at any agent's base URL, and verifies it.
    resolver = A2ACardResolver(http, f"{str(http.base_url).rstrip('/')}/{name}")
    verify = create_signature_verifier(lambda kid, jku: key.public_key(), ["EdDSA"])
    resolved = await resolver.get_agent_card(signature_verifier=verify)
    assert resolved.supported_interfaces[0].url == "https://translator.example.com/a2a"
