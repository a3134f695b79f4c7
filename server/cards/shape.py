"""What a card may hold before any work is done on it: counts (skills, tags, interfaces,
signatures, JWS segment lengths) and the type of each field the registry reads.

Limits come first and are cheap (a length, never a walk), so a card of twenty thousand
skills is refused before anything iterates over them; then every type problem at once,
named by the card field (`card.skills[3].tags`), so a client can fix its card in one go.
"""

from __future__ import annotations

from typing import Any

from server.domain import documents, failures
from server.domain.errors import FieldViolation

# A2A 0.3 names the extra transports `additionalInterfaces`; 1.x lists them all in
# `supportedInterfaces`.
_COUNTED = {
    "skills": documents.CARD_MAX_SKILLS,
    "additionalInterfaces": documents.CARD_MAX_INTERFACES,
    "supportedInterfaces": documents.CARD_MAX_INTERFACES,
    "signatures": documents.CARD_MAX_SIGNATURES,
}
_SKILL_TEXT = ("id", "name", "description")
_INTERFACE_TEXT = ("url", "protocolBinding", "protocolVersion")
_JWS_LENGTHS = {
    "protected": documents.JWS_MAX_HEADER_CHARS,
    "signature": documents.JWS_MAX_SIGNATURE_CHARS,
}


def _too_many(field: str, limit: int) -> FieldViolation:
    return FieldViolation(field, f"may hold at most {limit} entries")


def check_limits(card: dict[str, Any]) -> None:
    """Raises InvalidArgument (DOCUMENT_LIMIT_EXCEEDED) if a count or length is over its limit."""
    violations = [
        _too_many(f"card.{key}", limit)
        for key, limit in _COUNTED.items()
        if isinstance(card.get(key), list) and len(card[key]) > limit
    ]
    if not violations:
        for index, skill in enumerate(_objects(card, "skills")):
            tags = skill.get("tags")
            if isinstance(tags, list) and len(tags) > documents.CARD_MAX_SKILL_TAGS:
                violations.append(
                    _too_many(f"card.skills[{index}].tags", documents.CARD_MAX_SKILL_TAGS)
                )
        for index, entry in enumerate(_objects(card, "signatures")):
            for key, limit in _JWS_LENGTHS.items():
                value = entry.get(key)
                if isinstance(value, str) and len(value) > limit:
                    violations.append(
                        FieldViolation(
                            f"card.signatures[{index}].{key}", f"is longer than {limit} characters"
                        )
                    )
    if violations:
        raise failures.document_refused(
            violations, documents.LIMIT_EXCEEDED, message="the card is over a limit"
        )


def _objects(card: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entries = card.get(key)
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict)]


def problems(card: dict[str, Any]) -> list[FieldViolation]:
    """Type problems in skills, interfaces and signatures, each named by its card field."""
    found: list[FieldViolation] = []
    skills = card.get("skills", [])
    if not isinstance(skills, list) or not all(isinstance(s, dict) for s in skills):
        found.append(FieldViolation("card.skills", "must be a list of objects"))
        skills = []
    for index, skill in enumerate(skills):
        for key in _SKILL_TEXT:
            if skill.get(key) is not None and not isinstance(skill[key], str):
                found.append(FieldViolation(f"card.skills[{index}].{key}", "must be a string"))
        tags = skill.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            found.append(FieldViolation(f"card.skills[{index}].tags", "must be a list of strings"))
    interfaces = card.get("supportedInterfaces", [])
    if not isinstance(interfaces, list) or not all(isinstance(i, dict) for i in interfaces):
        found.append(FieldViolation("card.supportedInterfaces", "must be a list of objects"))
        interfaces = []
    for index, interface in enumerate(interfaces):
        for key in _INTERFACE_TEXT:
            if interface.get(key) is not None and not isinstance(interface[key], str):
                field = f"card.supportedInterfaces[{index}].{key}"
                found.append(FieldViolation(field, "must be a string"))
    signatures = card.get("signatures", [])
    if not isinstance(signatures, list) or not all(isinstance(e, dict) for e in signatures):
        found.append(FieldViolation("card.signatures", "must be a list of JWS objects"))
    return found
