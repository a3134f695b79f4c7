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


def lines_of(card: dict[str, Any]) -> set[str]:
    """The A2A lines a card speaks: 1.x lists `supportedInterfaces`, 0.3 has a top-level
    `url`; an SDK serving both lines serves one card with both."""
    lines = set()
    if isinstance(card.get("supportedInterfaces"), list):
        lines.add(CURRENT)
    if isinstance(card.get("url"), str) and card["url"].strip():
        lines.add(LEGACY)
    return lines


# What both lines spell alike: a card published in one line keeps it when the other is
# asked for (security schemes and requirements, spelled differently, do not carry over).
_SHARED_TEXT = ("name", "description", "version", "documentationUrl", "iconUrl")
_SHARED_MODES = ("defaultInputModes", "defaultOutputModes")
_SHARED_SKILL_TEXT = ("id", "name", "description")
_SHARED_SKILL_LISTS = ("tags", "examples", "inputModes", "outputModes")
_SHARED_CAPABILITIES = ("streaming", "pushNotifications")
_SHARED_EXTENSION = frozenset({"uri", "description", "required", "params"})


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _strings(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_text(v) for v in value)


def _shared_skill(skill: Any) -> dict[str, Any] | None:
    """The skill's fields both lines share; None without an id and a name."""
    if not isinstance(skill, dict) or not (_text(skill.get("id")) and _text(skill.get("name"))):
        return None
    shared = {k: skill[k] for k in _SHARED_SKILL_TEXT if _text(skill.get(k))}
    shared |= {k: skill[k] for k in _SHARED_SKILL_LISTS if _strings(skill.get(k))}
    shared.setdefault("description", shared["name"])
    shared.setdefault("tags", [shared["id"]])
    return shared


def _carry_over(card: dict[str, Any], published: dict[str, Any]) -> None:
    """Overlays on a registry-built `card` what the agent's `published` card (in the
    other line) says in fields both lines share, keeping the registry's extension."""
    card |= {k: published[k] for k in _SHARED_TEXT if _text(published.get(k))}
    card |= {k: published[k] for k in _SHARED_MODES if _strings(published.get(k))}
    provider = published.get("provider")
    if (
        isinstance(provider, dict)
        and _text(provider.get("organization"))
        and _text(provider.get("url"))
    ):
        card["provider"] = {"organization": provider["organization"], "url": provider["url"]}
    skills = [s for s in map(_shared_skill, published.get("skills") or []) if s is not None]
    if skills:
        card["skills"] = skills
    own = published.get("capabilities")
    if isinstance(own, dict):
        capabilities = card["capabilities"]
        capabilities |= {k: own[k] for k in _SHARED_CAPABILITIES if isinstance(own.get(k), bool)}
        extensions = [
            {k: v for k, v in e.items() if k in _SHARED_EXTENSION}
            for e in own.get("extensions") or []
            if isinstance(e, dict) and _text(e.get("uri"))
        ]
        capabilities["extensions"] = [*extensions, *capabilities["extensions"]]


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
    agent: Agent,
    capabilities: Sequence[Capability],
    base_url: str,
    version: str = CURRENT,
    published: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An A2A card of the agent as registered: its catalog capabilities are its skills,
    unless the card it `published` (in the other line) says more (_carry_over).

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
    if published is not None:
        _carry_over(card, published)
    return card
