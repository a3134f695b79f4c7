"""Cards from the official A2A SDK through a real channel: signed by its signer, sent
inline or served at /.well-known/agent-card.json, they import VERIFIED; changed, refused."""

from __future__ import annotations

import json
from typing import Any

import grpc
import pytest
from agentregistry.v1 import agent_card_service_pb2 as pb
from agentregistry.v1 import agent_card_service_pb2_grpc
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import struct_pb2

from server.backing import BackingServices
from server.settings import Settings
from tests.card_support import card_server
from tests.e2e.search_support import word
from tests.e2e.servers import instance
from tests.factories import error_details, raw_public_key, register_signature
from tests.sdk_cards import served_v03, served_v1, sign_v03, sign_v1, v03_card, v1_card

VERIFIED = pb.CARD_SIGNATURE_STATUS_VERIFIED


def _request(card: dict[str, Any] | None, key: Ed25519PrivateKey, **fields: Any) -> Any:
    request = pb.ImportAgentCardRequest(
        public_key=raw_public_key(key), signature=register_signature(key), **fields
    )
    if card is not None:
        request.card.CopyFrom(struct_pb2.Struct())
        request.card.update(card)
    return request


async def test_sdk_signed_cards_import_verified_inline(channel) -> None:
    cards = agent_card_service_pb2_grpc.AgentCardServiceStub(channel)
    for build in (
        lambda key: served_v1(sign_v1(v1_card(f"Lusitano {word()}"), key)),
        lambda key: served_v03(sign_v03(v03_card(f"Lusitano {word()}"), key)),
    ):
        key = Ed25519PrivateKey.generate()
        card = build(key)

        response = await cards.ImportAgentCard(_request(card, key))

        assert response.created and response.signature_status == VERIFIED
        assert response.agent.display_name == card["name"]


async def test_a_changed_sdk_card_is_refused_and_writes_nothing(channel) -> None:
    cards = agent_card_service_pb2_grpc.AgentCardServiceStub(channel)
    key = Ed25519PrivateKey.generate()
    card = served_v1(sign_v1(v1_card(f"Lusitano {word()}"), key))
    moved = [{**card["supportedInterfaces"][0], "url": "https://attacker.example.net/a2a"}]

    for changed in ({**card, "description": "Other"}, {**card, "supportedInterfaces": moved}):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await cards.ImportAgentCard(_request(changed, key))
        details = error_details(caught.value)
        assert (details.code, details.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "CARD_SIGNATURE_INVALID",
        )
        assert details.fields == ["card.signatures"]
    # Nothing was registered with the key: the card as signed still registers.
    response = await cards.ImportAgentCard(_request(card, key))
    assert response.created and response.signature_status == VERIFIED


async def test_an_sdk_card_served_at_the_well_known_path_imports_verified(
    settings: Settings, backing: BackingServices
) -> None:
    key, old_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    served = {
        "/.well-known/agent-card.json": served_v1(sign_v1(v1_card(f"Lusitano {word()}"), key)),
        "/v03/.well-known/agent-card.json": served_v03(
            sign_v03(v03_card(f"Lusitano {word()}"), old_key)
        ),
    }
    documents = {path: json.dumps(card).encode() for path, card in served.items()}
    local = settings.model_copy(update={"webhook_allow_loopback": True})
    async with card_server(documents) as base, instance(local, backing) as server:
        cards = agent_card_service_pb2_grpc.AgentCardServiceStub(server.channel)
        current = await cards.ImportAgentCard(_request(None, key, card_uri=base))
        legacy = await cards.ImportAgentCard(
            _request(None, old_key, card_uri=f"{base}/v03/.well-known/agent-card.json")
        )

    assert current.created and current.signature_status == VERIFIED
    assert legacy.created and legacy.signature_status == VERIFIED
    assert current.agent.display_name == served["/.well-known/agent-card.json"]["name"]
