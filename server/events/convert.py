"""Change-feed events to protos, and WatchEvents filters from protos."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import cast

from agentregistry.v1 import resources_pb2
from google.protobuf import json_format

from server.domain.changes import ChangeEvent
from server.domain.errors import InvalidArgument
from server.domain.names import agent_name, parse_agent_name
from server.domain.wire import timestamp
from server.events.payloads import fill_payload
from server.events.service import KEEPALIVE

# The store keeps event types by their bare names (`AGENT_REGISTERED`, in events.event_type
# and webhooks.event_types) from before the proto enum values took their type's prefix;
# the prefix is added and dropped here, at the edge, so stored rows never change.
_PROTO_PREFIX = "EVENT_TYPE_"


def event_type_to_proto(name: str) -> resources_pb2.EventType:
    """A stored type name (`AGENT_REGISTERED`) as the proto enum value."""
    return cast(resources_pb2.EventType, resources_pb2.EventType.Value(_PROTO_PREFIX + name))


def event_type_from_proto(value: int) -> str:
    """The proto enum value as the stored type name; ValueError when unknown."""
    return resources_pb2.EventType.Name(value).removeprefix(_PROTO_PREFIX)


def event_to_proto(event: ChangeEvent) -> resources_pb2.Event:
    """The API's Event for a stored one, its payload typed (server/events/payloads.py)."""
    proto = resources_pb2.Event(
        id=event.event_id,
        type=event_type_to_proto(event.event_type),
        agent=agent_name(event.agent_id) if event.agent_id else "",
        create_time=timestamp(event.created_at),
    )
    fill_payload(proto, event)
    return proto


def event_json(event: ChangeEvent) -> bytes:
    """The Event as the JSON API prints it (Envoy's print options: camelCase names, enums
    by name, int64 as strings, zero values included): a webhook delivery's body."""
    document = json_format.MessageToDict(
        event_to_proto(event), always_print_fields_with_no_presence=True
    )
    return json.dumps(document, separators=(",", ":")).encode()


class SharedEventProtos:
    """One proto per event for every stream that sends it: a process's watch streams get
    the same events from its hub, and converting each once per stream cost more than
    sending it. The protos are read-only once built."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._protos: dict[int, resources_pb2.Event] = {}

    def of(self, event: ChangeEvent) -> resources_pb2.Event:
        if event.event_type == KEEPALIVE:  # a stream's own position, made fresh
            return event_to_proto(event)
        proto = self._protos.get(event.event_id)
        if proto is None:
            proto = self._protos[event.event_id] = event_to_proto(event)
            if len(self._protos) > self._size:
                del self._protos[next(iter(self._protos))]  # the oldest
        return proto


def type_filter(values: Iterable[int]) -> frozenset[str]:
    """UNSPECIFIED in a filter means "all types", so it is dropped."""
    names: set[str] = set()
    for i, value in enumerate(values):
        if value not in resources_pb2.EventType.values():
            raise InvalidArgument.field(f"types[{i}]", "must be a known event type")
        if value != resources_pb2.EVENT_TYPE_UNSPECIFIED:
            names.add(event_type_from_proto(value))
    return frozenset(names)


def agent_filter(name: str) -> str | None:
    return parse_agent_name(name, "agent") if name else None
