"""Domain objects to compact JSON and back, for the Redis cache."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from server.domain.agents import (
    Agent,
    AgentProfile,
    AgentState,
    AgentStatus,
    AgentType,
    Capability,
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def _agent_dict(agent: Agent) -> dict[str, Any]:
    profile = agent.profile
    return {
        "id": agent.agent_id,
        "name": profile.display_name,
        "type": profile.agent_type,
        "desc": profile.description,
        "uri": profile.endpoint_uri,
        "tags": profile.tags,
        "protocols": profile.protocols,
        "meta": profile.metadata,
        "key": agent.public_key.hex(),
        "caps": agent.capabilities,
        "status": agent.status,
        "seen": _time(agent.last_seen_at),
        "trust": agent.trust_score,
        "verified": agent.verified,
        "kv": agent.key_version,
        "created": _time(agent.created_at),
        "updated": _time(agent.updated_at),
        "state": agent.state,
        "domain": agent.domain,
        "domain_at": _time(agent.domain_verified_at),
    }


def _agent_from(data: dict[str, Any]) -> Agent:
    profile = AgentProfile(
        display_name=data["name"],
        agent_type=AgentType(data["type"]) if data["type"] else None,
        description=data["desc"],
        endpoint_uri=data["uri"],
        tags=tuple(data["tags"]),
        protocols=tuple(data["protocols"]),
        metadata=dict(data["meta"]),
    )
    created, updated = _parse_time(data["created"]), _parse_time(data["updated"])
    assert created is not None and updated is not None
    return Agent(
        agent_id=data["id"],
        profile=profile,
        public_key=bytes.fromhex(data["key"]),
        capabilities=tuple(data["caps"]),
        status=AgentStatus(data["status"]),
        last_seen_at=_parse_time(data["seen"]),
        trust_score=data["trust"],
        verified=data["verified"],
        key_version=data["kv"],
        created_at=created,
        updated_at=updated,
        state=AgentState(data.get("state", "active")),
        domain=data.get("domain", ""),
        domain_verified_at=_parse_time(data.get("domain_at")),
    )


def encode_agent(agent: Agent) -> bytes:
    return json.dumps(_agent_dict(agent), separators=(",", ":")).encode()


def decode_agent(raw: bytes) -> Agent:
    return _agent_from(json.loads(raw))


def encode_agent_page(agents: list[Agent], token: str) -> bytes:
    return json.dumps({"items": [_agent_dict(a) for a in agents], "token": token}).encode()


def decode_agent_page(raw: bytes) -> tuple[list[Agent], str]:
    data = json.loads(raw)
    return [_agent_from(item) for item in data["items"]], data["token"]


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


def encode_ranked_page(items: list[tuple[int, Agent]], token: str) -> bytes:
    ranked = [{"rank": rank, "agent": _agent_dict(agent)} for rank, agent in items]
    return json.dumps({"items": ranked, "token": token}).encode()


def decode_ranked_page(raw: bytes) -> tuple[list[tuple[int, Agent]], str]:
    data = json.loads(raw)
    return [(item["rank"], _agent_from(item["agent"])) for item in data["items"]], data["token"]
