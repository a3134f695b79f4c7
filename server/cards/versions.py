"""Exported cards in the A2A protocol line the caller asks for.

A caller names the line with the `A2A-Version` header (gRPC metadata `a2a-version`), as
A2A clients do; none means the current line. 1.x cards list the endpoint in
`supportedInterfaces` (with the binding and protocol version the agent's card declared,
JSON-RPC and the current version otherwise); 0.3 cards carry it as `url`. Optional fields
the registry has nothing for are left out, never sent empty; required ones are filled
(agent_to_card), so every export is valid under the official SDK's models.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.domain.agents import Agent, Capability
from server.domain.errors import InvalidArgument
from server.domain.names import agent_name, capability_name

CURRENT = "1.0"
LEGACY = "0.3"
LEGACY_CARD_VERSION = "0.3.0"
_DEFAULT_BINDING = "JSONRPC"
VERSION_HEADER = "a2a-version"
# The registry's own view of an agent, carried in the cards it builds (README: "A2A Agent
# Cards"); never written into a card an agent published, whose signatures it would break.
REGISTRY_EXTENSION = "https://agentregistry.dev/a2a/extensions/registry/v1"


def requested(value: str | None) -> str:
    """The line a caller asks for: "1.0" for any 1.x, "0.3" for 0.3.x; INVALID_ARGUMENT
    for any other."""
    text = (value or "").strip()
    if not text:
        return CURRENT
    parts = text.split(".")
    if len(parts) <= 3 and all(p.isdigit() for p in parts):
        if parts[0] == "1":
            return CURRENT
        if parts[:2] == ["0", "3"]:
            return LEGACY
    raise InvalidArgument.field("A2A-Version", f"must be {CURRENT} or {LEGACY}, not {text!r}")


def line_of(card: dict[str, Any]) -> str:
    """The A2A line a card is written in: 1.x lists `supportedInterfaces`."""
    return CURRENT if isinstance(card.get("supportedInterfaces"), list) else LEGACY


def _skills(agent: Agent, capabilities: Sequence[Capability]) -> list[dict[str, Any]]:
    """Its catalog capabilities; with none, one skill of the agent as registered (both
    lines want a skill, each with a description and a tag)."""
    profile = agent.profile
    tags = list(profile.tags)
    if not capabilities:
        return [
            {
                "id": "agent",
                "name": profile.display_name,
                "description": profile.description or profile.display_name,
                "tags": tags or [profile.agent_type.value if profile.agent_type else "agent"],
            }
        ]
    return [
        {
            "id": c.capability_id,
            "name": c.display_name,
            "description": c.description or c.display_name,
            "tags": tags or [c.capability_id],
        }
        for c in capabilities
    ]


def _registry_extension(agent: Agent) -> dict[str, Any]:
    params: dict[str, Any] = {
        "agent": agent_name(agent.agent_id),
        "trustScore": agent.trust_score,
        "verified": agent.verified,
        "status": agent.status.value,
        "capabilities": [capability_name(c) for c in agent.capabilities],
    }
    if agent.domain and agent.domain_verified_at is not None:
        params["provenDomain"] = agent.domain
    if not agent.profile.endpoint_uri:
        params["endpoint"] = False
    return {
        "uri": REGISTRY_EXTENSION,
        "description": "The registry's view of this agent: trust, presence, capabilities.",
        "params": params,
    }


def agent_to_card(
    agent: Agent, capabilities: Sequence[Capability], base_url: str, version: str = CURRENT
) -> dict[str, Any]:
    """An A2A card of the agent as registered: its catalog capabilities are its skills.

    Valid in either line, which requires a description, a skill and an address: an agent
    registered without an endpoint is given its URL on the registry (`base_url`, the
    registry's public URL), which serves its card and answers no A2A call; the registry
    extension then says `"endpoint": false`."""
    profile = agent.profile
    metadata = profile.metadata
    card: dict[str, Any] = {
        "name": profile.display_name,
        "description": profile.description or profile.display_name,
        "version": metadata.get("a2a.version", "1.0.0"),
        "capabilities": {"extensions": [_registry_extension(agent)]},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": _skills(agent, capabilities),
    }
    url = profile.endpoint_uri or f"{base_url}/{agent_name(agent.agent_id)}"
    binding = metadata.get("a2a.protocol_binding") or _DEFAULT_BINDING
    if version == LEGACY:
        card.update(protocolVersion=LEGACY_CARD_VERSION, url=url, preferredTransport=binding)
    else:
        interface_version = metadata.get("a2a.protocol_version") or CURRENT
        card["supportedInterfaces"] = [
            {"url": url, "protocolBinding": binding, "protocolVersion": interface_version}
        ]
    # Both lines require a provider's organization and url.
    if metadata.get("a2a.provider") and metadata.get("a2a.provider_url"):
        card["provider"] = {
            "organization": metadata["a2a.provider"],
            "url": metadata["a2a.provider_url"],
        }
    return card
