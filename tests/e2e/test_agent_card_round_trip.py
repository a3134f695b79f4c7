"""The card an agent published comes back unchanged: skills in its own words, capabilities,
security, interfaces, provider and signatures, which the SDK's verifier still accepts."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from a2a.client.card_resolver import parse_agent_card
from a2a.compat.v0_3 import types as v03
from a2a.types import AgentCard
from a2a.utils.proto_utils import validate_proto_required_fields
from a2a.utils.signing import create_signature_verifier
from agentregistry.v1 import agent_card_service_pb2 as pb
from agentregistry.v1 import agent_card_service_pb2_grpc, registry_service_pb2, resources_pb2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import field_mask_pb2, json_format

from tests.card_support import card_struct
from tests.e2e.search_support import word
from tests.factories import register, register_signature
from tests.sdk_cards import served_v03, served_v1, sign_v03, sign_v1, v03_card, v1_card


async def _export(cards: Any, name: str, version: str | None = None) -> dict[str, Any]:
    metadata = (("a2a-version", version),) if version else None
    response = await cards.GetAgentCard(pb.GetAgentCardRequest(name=name), metadata=metadata)
    return json_format.MessageToDict(response)


async def test_published_cards_come_back_unchanged_and_still_verify(channel) -> None:
    cards = agent_card_service_pb2_grpc.AgentCardServiceStub(channel)
    key, old_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    current = served_v1(sign_v1(v1_card(f"Lusitano {word()}"), key))
    legacy = served_v03(sign_v03(v03_card(f"Lusitano {word()}"), old_key))
    names = []
    for card, signer in ((current, key), (legacy, old_key)):
        request = pb.ImportAgentCardRequest(
            card=card_struct(card),
            public_key=signer.public_key().public_bytes_raw(),
            signature=register_signature(signer),
        )
        names.append((await cards.ImportAgentCard(request)).agent.name)

    exported = await _export(cards, names[0])
    exported_legacy = await _export(cards, names[1], "0.3")
    # Asked for the other line, the registry's own card of the agent.
    other_line = await _export(cards, names[1])

    assert exported == current and exported_legacy == legacy
    # Skills outside the catalog, in the agent's words, with examples and modes.
    assert exported["skills"][0]["name"] == "Translate contracts"
    assert exported["skills"][0]["inputModes"] == ["application/pdf"]
    verify = create_signature_verifier(lambda kid, jku: key.public_key(), ["EdDSA"])
    verify(parse_agent_card(dict(exported)))  # raises if no signature verifies
    assert "signatures" not in other_line
    assert other_line["supportedInterfaces"][0]["url"] == legacy["url"]


async def test_a_refused_card_keeps_the_published_one_and_a_profile_edit_drops_it(
    channel, registry, auth
) -> None:
    cards = agent_card_service_pb2_grpc.AgentCardServiceStub(channel)
    owner = await register(registry, auth, display_name=f"Owner {word()}")
    card = served_v1(sign_v1(v1_card(f"Lusitano {word()}"), owner.key))
    await cards.ImportAgentCard(
        pb.ImportAgentCardRequest(agent=owner.name, card=card_struct(card)), metadata=owner.metadata
    )
    forged = served_v1(sign_v1(v1_card("Hijacked"), Ed25519PrivateKey.generate()))

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cards.ImportAgentCard(
            pb.ImportAgentCardRequest(agent=owner.name, card=card_struct(forged)),
            metadata=owner.metadata,
        )
    kept = await _export(cards, owner.name)
    await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=owner.name, description="Edited in the registry."),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=owner.metadata,
    )
    edited = await _export(cards, owner.name)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert kept == card
    # The published card no longer says what the profile says: the registry's card instead.
    assert edited["description"] == "Edited in the registry."
    assert "signatures" not in edited


async def test_a_card_asked_for_in_its_other_line_keeps_what_both_lines_share(channel) -> None:
    cards = agent_card_service_pb2_grpc.AgentCardServiceStub(channel)
    keys = [Ed25519PrivateKey.generate() for _ in range(3)]
    only_v1 = served_v1(sign_v1(v1_card(f"Lusitano {word()}", legacy_interface=False), keys[0]))
    both = served_v1(sign_v1(v1_card(f"Lusitano {word()}"), keys[1]))
    only_v03 = served_v03(sign_v03(v03_card(f"Lusitano {word()}"), keys[2]))
    names = []
    for card, key in zip((only_v1, both, only_v03), keys, strict=True):
        request = pb.ImportAgentCardRequest(
            card=card_struct(card),
            public_key=key.public_key().public_bytes_raw(),
            signature=register_signature(key),
        )
        names.append((await cards.ImportAgentCard(request)).agent.name)

    as_v03 = await _export(cards, names[0], "0.3")
    both_as_v03 = await _export(cards, names[1], "0.3")
    as_v1 = await _export(cards, names[2], "1.0")

    # An SDK serving both lines served one card for both: it comes back unchanged.
    assert both_as_v03 == both
    # Otherwise the registry's card in the asked line, in the agent's own words.
    legacy = v03.AgentCard.model_validate(as_v03)
    assert [s.name for s in legacy.skills] == ["Translate contracts", "Proofread"]
    assert legacy.skills[0].examples == ["Translate this NDA"]
    assert legacy.skills[0].input_modes == ["application/pdf"]
    assert legacy.capabilities.streaming is True
    assert legacy.provider is not None and legacy.provider.url == "https://example.com"
    assert legacy.description == only_v1["description"]
    assert "signatures" not in as_v03 and "securitySchemes" not in as_v03
    current = json_format.ParseDict(as_v1, AgentCard())
    validate_proto_required_fields(current)
    assert [s.name for s in current.skills] == ["Translate contracts"]
    assert list(current.skills[0].examples) == ["Translate this NDA"]
    assert current.capabilities.streaming
    assert current.supported_interfaces[0].url == only_v03["url"]
    # The registry's view still rides along in its extension.
    for exported in (as_v03, as_v1):
        uris = [e["uri"] for e in exported["capabilities"]["extensions"]]
        assert uris == ["https://agentregistry.dev/a2a/extensions/registry/v1"]
