"""Change-feed events to protos, and WatchEvents filters from protos."""

from __future__ import annotations

from collections.abc import Iterable

from agentregistry.v1 import resources_pb2
from google.protobuf import struct_pb2

from server.domain.changes import ChangeEvent
from server.domain.errors import InvalidArgument
from server.domain.names import agent_name, parse_agent_name
from server.registry.convert import timestamp


def event_to_proto(event: ChangeEvent) -> resources_pb2.Event:
    data = struct_pb2.Struct()
    data.update(event.data)
    return resources_pb2.Event(
        id=event.event_id,
        type=event.event_type,
        agent=agent_name(event.agent_id) if event.agent_id else "",
        create_time=timestamp(event.created_at),
        data=data,
    )


def type_filter(values: Iterable[int]) -> frozenset[str]:
    """UNSPECIFIED in a filter means "all types", so it is dropped."""
    names: set[str] = set()
    for i, value in enumerate(values):
        if value not in resources_pb2.EventType.values():
            raise InvalidArgument.field(f"types[{i}]", "must be a known event type")
        if value != resources_pb2.EVENT_TYPE_UNSPECIFIED:
            names.add(resources_pb2.EventType.Name(value))
    return frozenset(names)


def agent_filter(name: str) -> str | None:
    return parse_agent_name(name, "agent") if name else None
