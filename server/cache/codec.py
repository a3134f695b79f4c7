"""Catalog records to compact JSON and back, for the Redis cache. (Agents are cached as
the responses that show them: server/cache/responses.py.)"""

from __future__ import annotations

import json
from typing import Any

from server.domain.agents import (
    Capability,
)


def _capability_dict(capability: Capability) -> dict[str, Any]:
    return {
        "id": capability.capability_id,
        "name": capability.display_name,
        "desc": capability.description,
        "synonyms": capability.synonyms,
        "count": capability.agent_count,
    }


def _capability_from(data: dict[str, Any]) -> Capability:
    return Capability(
        capability_id=data["id"],
        display_name=data["name"],
        description=data["desc"],
        synonyms=tuple(data["synonyms"]),
        agent_count=data["count"],
    )


def encode_capability_page(capabilities: list[Capability], token: str) -> bytes:
    return json.dumps(
        {"items": [_capability_dict(c) for c in capabilities], "token": token}
    ).encode()


def decode_capability_page(raw: bytes) -> tuple[list[Capability], str]:
    data = json.loads(raw)
    return [_capability_from(item) for item in data["items"]], data["token"]


def encode_capability(capability: Capability) -> bytes:
    return json.dumps(_capability_dict(capability)).encode()


def decode_capability(raw: bytes) -> Capability:
    return _capability_from(json.loads(raw))
