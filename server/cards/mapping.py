"""A2A Agent Card <-> registry profile: what each card field becomes, and back.

Cards are JSON objects as A2A defines them, in either protocol line: 0.3 (top-level
`url`, `preferredTransport`, `protocolVersion`) or 1.x (`supportedInterfaces[]`, each
with its `url`, `protocolBinding` and `protocolVersion`; the first is the preferred
one). The endpoint is the 0.3 `url`, else the first interface with a URL. Unknown
fields are ignored on import; registry limits (profile validation) apply to what a
card maps to. Exports speak the line the caller asks for (server.cards.versions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from server.cards import shape
from server.domain import failures
from server.domain.agents import AgentProfile, AgentType
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.validation import MAX_LABEL, MAX_TAGS

WELL_KNOWN_PATH = "/.well-known/agent-card.json"
_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
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
    """What a card maps to: the profile, the skill ids that may be catalog ids, and the
    card field the endpoint came from (for violations)."""

    profile: AgentProfile
    skill_ids: tuple[str, ...]
    endpoint_field: str = "card.url"


def _endpoint(card: dict[str, Any], problems: list[FieldViolation]) -> tuple[str, str, str, str]:
    """(url, binding, protocol version, the field the url came from): the 0.3 top-level
    url, else the first 1.x interface that has one."""
    url = _text(card, "url", problems)
    if url:
        return url, _str(card.get("preferredTransport")), _str(card.get("protocolVersion")), "url"
    for index, interface in enumerate(card.get("supportedInterfaces") or []):
        if isinstance(interface, dict) and _str(interface.get("url")).strip():
            return (
                _str(interface["url"]).strip(),
                _str(interface.get("protocolBinding")),
                _str(interface.get("protocolVersion")),
                f"supportedInterfaces[{index}].url",
            )
    return "", "", _str(card.get("protocolVersion")), "url"


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


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
    url, binding, protocol_version, url_field = _endpoint(card, problems)
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
    metadata = {"a2a.protocol_version": protocol_version, "a2a.protocol_binding": binding}
    metadata = {k: v for k, v in metadata.items() if v}
    if isinstance(card.get("version"), str):
        metadata["a2a.version"] = card["version"]
    provider = card.get("provider")
    if isinstance(provider, dict) and isinstance(provider.get("organization"), str):
        metadata["a2a.provider"] = provider["organization"]
        if isinstance(provider.get("url"), str) and provider["url"]:
            metadata["a2a.provider_url"] = provider["url"]
    profile = AgentProfile(
        display_name=name,
        agent_type=agent_type,
        description=description,
        endpoint_uri=url,
        tags=tuple(tags),
        protocols=("a2a",),
        metadata=metadata,
    )
    return ImportedCard(profile, tuple(dict.fromkeys(skill_ids)), f"card.{url_field}")


def card_violations(error: InvalidArgument, endpoint_field: str = "card.url") -> InvalidArgument:
    """The registry's profile violations, named by the card fields they came from."""
    fields = {**CARD_FIELDS, "endpoint_uri": endpoint_field}
    renamed = []
    for violation in error.violations:
        field = violation.field.removeprefix("agent.")
        head = field.split("[", 1)[0].split(".", 1)[0]
        renamed.append(FieldViolation(fields.get(head, violation.field), violation.description))
    return failures.document_refused(renamed, error.reason)
