"""The registry's own A2A card at `/.well-known/agent-card.json`: what it does and where,
at its public URL, valid under the official SDK in both lines and found by its resolver."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
from a2a.client.card_resolver import A2ACardResolver
from a2a.compat.v0_3 import types as v03
from a2a.types import AgentCard
from a2a.utils.proto_utils import validate_proto_required_fields
from agentregistry.v1 import agent_card_service_pb2 as pb
from google.protobuf import json_format

from server.backing import BackingServices
from server.settings import Settings
from tests.card_support import cards_stub
from tests.e2e.search_support import word
from tests.e2e.servers import instance
from tests.factories import register

SKILLS = ["search-agents", "find-agents", "browse-capabilities", "agent-cards"]


def _valid_v1(card: dict[str, Any]) -> AgentCard:
    message = json_format.ParseDict(card, AgentCard())
    validate_proto_required_fields(message)
    return message


async def _registry_card(channel: grpc.aio.Channel, version: str | None = None) -> dict[str, Any]:
    metadata = (("a2a-version", version),) if version else None
    card = await cards_stub(channel).GetRegistryCard(pb.GetRegistryCardRequest(), metadata=metadata)
    return json_format.MessageToDict(card)


async def test_the_registry_card_is_served_where_a2a_clients_look(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    first = await http.get("/.well-known/agent-card.json")
    again = await http.get(
        "/.well-known/agent-card.json", headers={"if-none-match": first.headers["etag"]}
    )
    legacy = await http.get("/.well-known/agent-card.json", headers={"A2A-Version": "0.3"})
    refused = await http.get("/.well-known/agent-card.json", headers={"A2A-Version": "2"})

    assert first.status_code == 200
    assert first.headers["cache-control"] == "public, max-age=3600"
    assert again.status_code == 304
    assert refused.status_code == 400
    card = _valid_v1(first.json())
    assert [s.id for s in card.skills] == SKILLS
    (interface,) = card.supported_interfaces
    assert interface.url == f"{settings.registry_url}/v1"
    # Not an A2A binding: no A2A client sends the registry a message it cannot answer.
    assert interface.protocol_binding not in ("JSONRPC", "GRPC", "HTTP+JSON")
    old = v03.AgentCard.model_validate(legacy.json())
    assert old.url == interface.url and old.protocol_version == "0.3.0"
    # The 1.x SDK's resolver finds it at the registry's base URL.
    resolved = await A2ACardResolver(http, str(http.base_url)).get_agent_card()
    assert resolved.name == "Agent Registry"
    assert [s.id for s in resolved.skills] == SKILLS


async def test_the_public_url_setting_names_every_address(
    registry, settings: Settings, backing: BackingServices
) -> None:
    public = "https://registry.example.org/a2a-directory"
    local = settings.model_copy(update={"public_url": public})
    agent = await register(registry, display_name=f"Unreachable {word()}", endpoint_uri="")
    async with instance(local, backing) as server:
        card = await _registry_card(server.channel)
        legacy = await _registry_card(server.channel, "0.3.0")
        exported = json_format.MessageToDict(
            await cards_stub(server.channel).GetAgentCard(pb.GetAgentCardRequest(name=agent.name))
        )

    assert card["supportedInterfaces"][0]["url"] == f"{public}/v1"
    assert legacy["url"] == f"{public}/v1"
    assert card["documentationUrl"] == f"{public}/skill.md"
    (cards_skill,) = [s for s in card["skills"] if s["id"] == "agent-cards"]
    assert f"{public}/agents/{{id}}/.well-known/agent-card.json" in cards_skill["description"]
    assert exported["supportedInterfaces"][0]["url"] == f"{public}/{agent.name}"


def test_the_public_url_defaults_to_the_local_edge() -> None:
    assert Settings(http_host="0.0.0.0", http_port=8081).registry_url == "http://127.0.0.1:8081"
    assert Settings(http_host="::1").registry_url == "http://[::1]:8080"
    assert Settings(public_url="https://r.example/").registry_url == "https://r.example"
