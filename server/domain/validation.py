"""Profile rules: every violation is collected, so a client fixes all at once."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from server.domain.agents import AgentProfile
from server.domain.errors import FieldViolation, InvalidArgument
from server.domain.signing import PUBLIC_KEY_BYTES, SIGNATURE_BYTES
from server.domain.text import has_nul, unreadable_character

MAX_DISPLAY_NAME = 64
MAX_DESCRIPTION = 500
MAX_URI = 2048
MAX_TAGS = 20
MAX_PROTOCOLS = 10
MAX_LABEL = 32
MAX_METADATA_ENTRIES = 32
MAX_METADATA_KEY = 64
MAX_METADATA_VALUE = 512
MAX_METADATA_BYTES = 8 * 1024
MAX_CAPABILITIES = 50
_LABEL = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def normalise_labels(values: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Lower-case and de-duplicate, keeping first-seen order."""
    return tuple(dict.fromkeys(v.strip().lower() for v in values))


def _labels(field: str, values: tuple[str, ...], limit: int) -> list[FieldViolation]:
    problems = []
    if len(values) > limit:
        problems.append(FieldViolation(field, f"at most {limit} entries"))
    for index, value in enumerate(values):
        if not 1 <= len(value) <= MAX_LABEL or not _LABEL.fullmatch(value):
            problems.append(
                FieldViolation(f"{field}[{index}]", f"1-{MAX_LABEL} characters of [a-z0-9._-]")
            )
    return problems


def display_name_violations(field: str, name: str) -> list[FieldViolation]:
    """1-64 characters, not blank, and nothing that hides or reorders what a reader sees."""
    if not name.strip() or len(name) > MAX_DISPLAY_NAME:
        return [FieldViolation(field, f"1-{MAX_DISPLAY_NAME} characters, not blank")]
    char = unreadable_character(name)
    if char is not None:
        return [
            FieldViolation(
                field, f"must not contain control, bidi or zero-width characters ({char})"
            )
        ]
    return []


def nul_violations(field: str, value: str) -> list[FieldViolation]:
    return [FieldViolation(field, "must not contain NUL (U+0000)")] if has_nul(value) else []


def _uri(field: str, value: str) -> list[FieldViolation]:
    if not value:
        return []
    if has_nul(value):
        return nul_violations(field, value)
    if len(value) > MAX_URI:
        return [FieldViolation(field, f"at most {MAX_URI} characters")]
    try:
        parts = urlsplit(value)
    except ValueError:
        return [FieldViolation(field, "must be an absolute http or https URL")]
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [FieldViolation(field, "must be an absolute http or https URL")]
    return []


def _metadata(field: str, metadata: dict[str, str]) -> list[FieldViolation]:
    problems = []
    if len(metadata) > MAX_METADATA_ENTRIES:
        problems.append(FieldViolation(field, f"at most {MAX_METADATA_ENTRIES} entries"))
    for key, value in metadata.items():
        if not 1 <= len(key) <= MAX_METADATA_KEY:
            problems.append(FieldViolation(f"{field}[{key[:64]!r}]", "keys are 1-64 characters"))
        if has_nul(key) or has_nul(value):
            problems.append(FieldViolation(f"{field}[{key[:64]!r}]", "must not contain NUL"))
        if len(value) > MAX_METADATA_VALUE:
            problems.append(
                FieldViolation(f"{field}[{key[:64]!r}]", "values are at most 512 characters")
            )
    if len(json.dumps(metadata).encode()) > MAX_METADATA_BYTES:
        problems.append(FieldViolation(field, "at most 8 KiB in total"))
    return problems


def profile_violations(profile: AgentProfile, prefix: str = "agent") -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    problems += display_name_violations(f"{prefix}.display_name", profile.display_name)
    if profile.agent_type is None:
        problems.append(
            FieldViolation(f"{prefix}.type", "must be set (not AGENT_TYPE_UNSPECIFIED)")
        )
    if len(profile.description) > MAX_DESCRIPTION:
        problems.append(FieldViolation(f"{prefix}.description", "at most 500 characters"))
    problems += nul_violations(f"{prefix}.description", profile.description)
    problems += _uri(f"{prefix}.endpoint_uri", profile.endpoint_uri)
    problems += _labels(f"{prefix}.tags", profile.tags, MAX_TAGS)
    problems += _labels(f"{prefix}.protocols", profile.protocols, MAX_PROTOCOLS)
    problems += _metadata(f"{prefix}.metadata", profile.metadata)
    return problems


def key_violations(field: str, key: bytes) -> list[FieldViolation]:
    if len(key) != PUBLIC_KEY_BYTES:
        return [
            FieldViolation(field, f"must be exactly {PUBLIC_KEY_BYTES} bytes (raw Ed25519 key)")
        ]
    return []


def signature_violations(field: str, signature: bytes) -> list[FieldViolation]:
    if len(signature) != SIGNATURE_BYTES:
        return [FieldViolation(field, f"must be exactly {SIGNATURE_BYTES} bytes (Ed25519)")]
    return []


def raise_if(problems: list[FieldViolation]) -> None:
    if problems:
        raise InvalidArgument(problems)
