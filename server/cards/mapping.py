"""A2A Agent Card <-> registry profile: what each card field becomes, and back.

Cards are JSON objects as A2A defines them (name, description, url, version,
protocolVersion, provider, capabilities, defaultInputModes/OutputModes, skills
[{id, name, description, tags}], signatures). Unknown fields are ignored on import;
registry limits (profile validation) apply to what a card maps to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.cards import shape
from server.domain import failures
from server.domain.agents import Agent, AgentProfile, AgentType, Capability
from server.domain.errors import FieldViolation, InvalidArgument
from server.registry.validation import MAX_LABEL, MAX_TAGS

# The A2A protocol version exported cards declare.
PROTOCOL_VERSION = "0.3.0"
WELL_KNOWN_PATH = "/.well-known/agent-card.json"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_METADATA = {"version": "a2a.version", "protocolVersion": "a2a.protocol_version"}
# Profile field → the card field it came from, for violations a client can act on.
CARD_FIELDS = {
    "display_name": "card.name",
    "description": "card.description",
    "endpoint_uri": "card.url",
    "tags": "card.skills.tags",
    "metadata": "card",
}


@dataclass(frozen=True, slots=True)
class ImportedCard:
    """What a card maps to: the profile, and the skill ids that may be catalog ids."""

    profile: AgentProfile
    skill_ids: tuple[str, ...]


def _text(card: dict[str, Any], key: str, problems: list[FieldViolation]) -> str:
    value = card.get(key, "")
    if not isinstance(value, str):
        problems.append(FieldViolation(f"card.{key}", "must be a string"))
        return ""
    return value.strip()


def _tag(value: str) -> str | None:
    label = "-".join(value.strip().lower().split())
    return label if len(label) <= MAX_LABEL and _LABEL.fullmatch(label) else None


def card_to_profile(card: dict[str, Any], agent_type: AgentType) -> ImportedCard:
    """Every card problem at once (after shape.check_limits); profile limits are checked by
    the registry."""
    problems: list[FieldViolation] = []
    name = _text(card, "name", problems)
    if not name and not problems:
        problems.append(FieldViolation("card.name", "is required"))
    description = _text(card, "description", problems)
    url = _text(card, "url", problems)
    problems.extend(shape.problems(card))
    if problems:
        raise InvalidArgument(problems)
    tags: dict[str, None] = {}
    skill_ids = []
    for skill in card.get("skills", []):
        if isinstance(skill.get("id"), str):
            skill_ids.append(skill["id"])
        for raw in skill.get("tags") or []:
            tag = _tag(raw) if isinstance(raw, str) else None
            if tag is not None and len(tags) < MAX_TAGS:
                tags.setdefault(tag)
    metadata = {
        target: card[key] for key, target in _METADATA.items() if isinstance(card.get(key), str)
    }
    provider = card.get("provider")
    if isinstance(provider, dict) and isinstance(provider.get("organization"), str):
        metadata["a2a.provider"] = provider["organization"]
    profile = AgentProfile(
        display_name=name,
        agent_type=agent_type,
        description=description,
        endpoint_uri=url,
        tags=tuple(tags),
        protocols=("a2a",),
        metadata=metadata,
    )
    return ImportedCard(profile, tuple(dict.fromkeys(skill_ids)))


def card_violations(error: InvalidArgument) -> InvalidArgument:
    """The registry's profile violations, named by the card fields they came from."""
    renamed = []
    for violation in error.violations:
        field = violation.field.removeprefix("agent.")
        head = field.split("[", 1)[0].split(".", 1)[0]
        renamed.append(
            FieldViolation(CARD_FIELDS.get(head, violation.field), violation.description)
        )
    return failures.document_refused(renamed, error.reason)


def agent_to_card(agent: Agent, capabilities: Sequence[Capability]) -> dict[str, Any]:
    """An A2A card of the agent as registered: its catalog capabilities are its skills."""
    profile = agent.profile
    card: dict[str, Any] = {
        "protocolVersion": profile.metadata.get("a2a.protocol_version", PROTOCOL_VERSION),
        "name": profile.display_name,
        "description": profile.description,
        "url": profile.endpoint_uri,
        "version": profile.metadata.get("a2a.version", "1.0.0"),
        "capabilities": {},
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [
            {
                "id": c.capability_id,
                "name": c.display_name,
                "description": c.description,
                "tags": list(profile.tags),
            }
            for c in capabilities
        ],
    }
    if "a2a.provider" in profile.metadata:
        card["provider"] = {"organization": profile.metadata["a2a.provider"]}
    return card
