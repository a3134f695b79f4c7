"""Friendly values to protos: enum names as people type them, filters, profiles, JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from agentregistry_client._proto import resources_pb2, search_service_pb2

AgentTypeLike = int | str
StatusLike = int | str


def _enum(enum: Any, prefix: str, value: int | str) -> int:
    """`"service"`, `"SERVICE"`, `"AGENT_TYPE_SERVICE"` or the number itself."""
    if isinstance(value, int):
        return value
    text = value.strip().upper().replace("-", "_")
    for candidate in (text, f"{prefix}{text}"):
        try:
            return int(enum.Value(candidate))
        except ValueError:
            continue
    names = [v.name.removeprefix(prefix).lower() for v in enum.DESCRIPTOR.values if v.number]
    raise ValueError(f"unknown value {value!r}; one of {', '.join(names)}")


def agent_type(value: AgentTypeLike) -> int:
    return _enum(resources_pb2.AgentType, "AGENT_TYPE_", value)


def agent_status(value: StatusLike) -> int:
    return _enum(resources_pb2.AgentStatus, "AGENT_STATUS_", value)


def event_type(value: int | str) -> int:
    return _enum(resources_pb2.EventType, "EVENT_TYPE_", value)


def capability_name(value: str) -> str:
    return value if value.startswith("capabilities/") else f"capabilities/{value}"


def agent_name(value: str) -> str:
    return value if value.startswith("agents/") else f"agents/{value}"


def agent_profile(
    display_name: str | None = None,
    type: AgentTypeLike | None = None,
    *,
    description: str | None = None,
    endpoint_uri: str | None = None,
    tags: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    metadata: Mapping[str, str] | None = None,
) -> tuple[resources_pb2.Agent, list[str]]:
    """The Agent proto and the update-mask paths of the fields that were given."""
    agent = resources_pb2.Agent()
    paths: list[str] = []
    if display_name is not None:
        agent.display_name = display_name
        paths.append("display_name")
    if type is not None:
        agent.type = agent_type(type)  # type: ignore[assignment]
        paths.append("type")
    if description is not None:
        agent.description = description
        paths.append("description")
    if endpoint_uri is not None:
        agent.endpoint_uri = endpoint_uri
        paths.append("endpoint_uri")
    if tags is not None:
        agent.tags.extend(tags)
        paths.append("tags")
    if protocols is not None:
        agent.protocols.extend(protocols)
        paths.append("protocols")
    if metadata is not None:
        agent.metadata.update(metadata)
        paths.append("metadata")
    return agent, paths


def agent_filter(
    *,
    capabilities: Iterable[str] = (),
    match_all: bool = False,
    types: Iterable[AgentTypeLike] = (),
    protocols: Iterable[str] = (),
    tags: Iterable[str] = (),
    statuses: Iterable[StatusLike] = (),
    min_trust_score: float = 0.0,
    verified_only: bool = False,
) -> search_service_pb2.AgentFilter:
    """An AgentFilter; capabilities match any of them unless `match_all`."""
    match = search_service_pb2.AgentFilter.Match
    return search_service_pb2.AgentFilter(
        capabilities=[capability_name(c) for c in capabilities],
        capability_match=match.MATCH_ALL if match_all else match.MATCH_ANY,
        types=[agent_type(t) for t in types],  # type: ignore[misc]
        protocols=list(protocols),
        tags=list(tags),
        statuses=[agent_status(s) for s in statuses],  # type: ignore[misc]
        min_trust_score=min_trust_score,
        verified_only=verified_only,
    )


def to_dict(message: Message) -> dict[str, Any]:
    """The proto as the JSON API prints it (lowerCamelCase, enums by name, bytes base64)."""
    return json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
