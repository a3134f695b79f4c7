"""A2A Agent Cards through a real channel: import (JSON and URL), export, signatures."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from agentregistry.v1 import agent_card_service_pb2 as pb
from agentregistry.v1 import registry_service_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.api import annotations_pb2
from google.protobuf import json_format

from server.backing import BackingServices
from server.settings import Settings
from tests.card_support import card_server, card_struct, cards_stub, sample_card, signed
from tests.e2e.search_support import word
from tests.e2e.servers import instance
from tests.factories import error_details, raw_public_key, register, register_signature

VERIFIED = pb.CARD_SIGNATURE_STATUS_VERIFIED
UNSIGNED = pb.CARD_SIGNATURE_STATUS_UNSIGNED


def _new_agent_request(
    card: dict[str, Any] | None, key: Ed25519PrivateKey, **fields: Any
) -> pb.ImportAgentCardRequest:
    request = pb.ImportAgentCardRequest(
        public_key=raw_public_key(key), signature=register_signature(key), **fields
    )
    if card is not None:
        request.card.CopyFrom(card_struct(card))
    return request


async def _refused(call: Any) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return error_details(caught.value)


async def test_a_signed_card_registers_an_agent(channel, registry) -> None:
    key = Ed25519PrivateKey.generate()
    card = signed(sample_card(f"Lusitano {word()}"), key)

    response = await cards_stub(channel).ImportAgentCard(_new_agent_request(card, key))

    assert response.created and response.signature_status == VERIFIED
    agent = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=response.agent.name))
    assert agent.display_name == card["name"]
    assert agent.endpoint_uri == "https://translator.example.com/a2a"
    assert list(agent.protocols) == ["a2a"]
    assert list(agent.tags) == ["legal-documents", "portuguese", "proofreading"]
    # Skills named after catalog capabilities are offered; the others stay tags.
    assert list(agent.capabilities) == ["capabilities/translation"]
    assert dict(agent.metadata) == {
        "a2a.version": "2.1.0",
        "a2a.protocol_version": "0.3.0",
        "a2a.provider": "Example Ltd",
        "a2a.provider_url": "https://example.com",
    }


async def test_a_forged_or_changed_card_writes_nothing(channel) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    card = sample_card(f"Forged {word()}")
    cards = cards_stub(channel)

    by_other = await _refused(cards.ImportAgentCard(_new_agent_request(signed(card, other), key)))
    changed = {**signed(card, key), "url": "https://attacker.example.net/a2a"}
    after_signing = await _refused(cards.ImportAgentCard(_new_agent_request(changed, key)))
    garbled = {**card, "signatures": [{"protected": "%%%", "signature": "abc"}]}
    malformed = await _refused(cards.ImportAgentCard(_new_agent_request(garbled, key)))

    for details in (by_other, after_signing, malformed):
        assert details.code == grpc.StatusCode.INVALID_ARGUMENT
        assert details.reason == "CARD_SIGNATURE_INVALID"
        assert details.fields == ["card.signatures"]
    # Nothing was registered with the key: the honest card still registers.
    response = await cards.ImportAgentCard(_new_agent_request(signed(card, key), key))
    assert response.created and response.signature_status == VERIFIED


async def test_unsigned_and_unsupported_cards_are_accepted_and_labelled(channel) -> None:
    cards = cards_stub(channel)
    key, es_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    plain = await cards.ImportAgentCard(_new_agent_request(sample_card(f"P {word()}"), key))
    # A signature under another algorithm cannot be checked against an Ed25519 key.
    other_alg = signed(sample_card(f"E {word()}"), es_key, alg="ES256")
    unsupported = await cards.ImportAgentCard(_new_agent_request(other_alg, es_key))

    assert plain.signature_status == UNSIGNED
    assert unsupported.signature_status == pb.CARD_SIGNATURE_STATUS_UNSUPPORTED_ALGORITHM


async def test_bad_cards_name_the_card_fields(channel) -> None:
    key = Ed25519PrivateKey.generate()
    cards = cards_stub(channel)
    card = sample_card("", url="ftp://nowhere", skills="none")

    details = await _refused(cards.ImportAgentCard(_new_agent_request(card, key)))
    too_long = sample_card("x" * 65)
    limits = await _refused(cards.ImportAgentCard(_new_agent_request(too_long, key)))
    neither = await _refused(cards.ImportAgentCard(_new_agent_request(None, key)))

    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == ["card.name", "card.skills"]
    assert limits.fields == ["card.name"]
    assert neither.fields == ["card"]


async def test_export_sign_and_verify_round_trip(channel, registry) -> None:
    agent = await register(
        registry,
        display_name=f"Exported {word()}",
        tags=["fast"],
        capabilities=["capabilities/summarization"],
    )
    cards = cards_stub(channel)

    exported = json_format.MessageToDict(
        await cards.GetAgentCard(pb.GetAgentCardRequest(name=agent.name))
    )
    verdicts = []
    changed = {**signed(exported, agent.key), "description": "Changed after signing."}
    for card in (exported, signed(exported, agent.key), changed):
        response = await cards.VerifyAgentCard(
            pb.VerifyAgentCardRequest(agent=agent.name, card=card_struct(card))
        )
        verdicts.append(response.signature_status)

    assert exported["name"] == agent.agent.display_name
    assert exported["supportedInterfaces"][0]["url"] == agent.agent.endpoint_uri
    assert [s["id"] for s in exported["skills"]] == ["summarization"]
    assert exported["skills"][0]["tags"] == ["fast"]
    assert "signatures" not in exported
    assert verdicts == [UNSIGNED, VERIFIED, pb.CARD_SIGNATURE_STATUS_SIGNATURE_INVALID]
    missing = await _refused(
        cards.GetAgentCard(pb.GetAgentCardRequest(name="agents/ag_0000000000000000"))
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "AGENT_NOT_FOUND")


async def test_the_owner_updates_its_profile_from_a_card(channel, registry, auth) -> None:
    agent = await register(registry, auth, display_name=f"Before {word()}", protocols=["grpc"])
    cards = cards_stub(channel)
    card = signed(sample_card(f"After {word()}"), agent.key)
    request = pb.ImportAgentCardRequest(agent=agent.name, card=card_struct(card))

    anonymous = await _refused(cards.ImportAgentCard(request))
    response = await cards.ImportAgentCard(request, metadata=agent.metadata)

    assert anonymous.code == grpc.StatusCode.UNAUTHENTICATED
    assert not response.created and response.signature_status == VERIFIED
    assert response.agent.name == agent.name
    assert response.agent.display_name == card["name"]
    assert list(response.agent.protocols) == ["grpc", "a2a"]
    # Signed by another key than the agent's: refused, the profile stays.
    other = signed(sample_card("Hijacked"), Ed25519PrivateKey.generate())
    forged = await _refused(
        cards.ImportAgentCard(
            pb.ImportAgentCardRequest(agent=agent.name, card=card_struct(other)),
            metadata=agent.metadata,
        )
    )
    assert forged.reason == "CARD_SIGNATURE_INVALID"
    now = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=agent.name))
    assert now.display_name == card["name"]


async def test_a_card_is_fetched_from_its_well_known_url(
    channel, settings: Settings, backing: BackingServices
) -> None:
    key = Ed25519PrivateKey.generate()
    card = signed(sample_card(f"Fetched {word()}"), key)
    documents = {"/.well-known/agent-card.json": json.dumps(card).encode()}
    local = settings.model_copy(update={"webhook_allow_loopback": True})
    async with card_server(documents) as base, instance(local, backing) as server:
        cards = cards_stub(server.channel)
        response = await cards.ImportAgentCard(_new_agent_request(None, key, card_uri=base))
        missing = await _refused(
            cards.ImportAgentCard(_new_agent_request(None, key, card_uri=f"{base}/nothing.json"))
        )
        # The suite's server refuses loopback, as production refuses private addresses.
        refused = await _refused(
            cards_stub(channel).ImportAgentCard(_new_agent_request(None, key, card_uri=base))
        )

    assert response.created and response.signature_status == VERIFIED
    assert response.agent.display_name == card["name"]
    assert (missing.code, missing.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "CARD_FETCH_FAILED",
    )
    assert (refused.code, refused.reason, refused.fields) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "CARD_URL_REFUSED",
        ["card_uri"],
    )


def test_http_mapping_of_the_card_methods() -> None:
    service = pb.DESCRIPTOR.services_by_name["AgentCardService"]
    rules = {
        method.name: method.GetOptions().Extensions[annotations_pb2.http]
        for method in service.methods
    }
    assert rules["GetAgentCard"].get == "/v1/{name=agents/*}/card"
    assert rules["ImportAgentCard"].post == "/v1/agents:importCard"
    assert rules["VerifyAgentCard"].post == "/v1/{agent=agents/*}:verifyCard"
