"""Pure conversions between presence protos and domain values."""

from __future__ import annotations

import functools
from datetime import UTC

from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import resources_pb2
from google.protobuf import duration_pb2, timestamp_pb2

from server.domain.agents import AgentStatus
from server.domain.errors import InvalidArgument
from server.domain.names import agent_name, parse_agent_name
from server.domain.wire import STATUS_FROM_PROTO, status_to_proto
from server.presence.service import Presence
from server.presence.streams import Ack, NewInterval, Reconnect


def status_from_proto(value: int, field: str) -> AgentStatus | None:
    """UNSPECIFIED is None ("keep the current status"); unknown numbers are invalid."""
    if value == resources_pb2.AGENT_STATUS_UNSPECIFIED:
        return None
    status = STATUS_FROM_PROTO.get(value)  # type: ignore[call-overload]
    if status is None:
        raise InvalidArgument.field(field, f"unknown status {value}")
    return status  # type: ignore[no-any-return]


def parse_presence_name(name: str) -> str:
    if not name.endswith("/presence"):
        raise InvalidArgument.field("name", "must be agents/{agent_id}/presence")
    return parse_agent_name(name.removesuffix("/presence"), "name")


def _duration(seconds: float) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromMilliseconds(round(seconds * 1000))
    return value


def _timestamp(unix_s: float) -> timestamp_pb2.Timestamp:
    value = timestamp_pb2.Timestamp()
    value.FromNanoseconds(int(unix_s * 1e9))
    return value


@functools.lru_cache(maxsize=64)
def _durations(interval_s: float, ttl_s: float) -> tuple[duration_pb2.Duration, ...]:
    """Settings, so the same for every ack: built once, not per beat."""
    return _duration(interval_s), _duration(ttl_s)


def ack_to_proto(ack: Ack, interval_s: float, ttl_s: float) -> pb.HeartbeatAck:
    nanos = int(ack.server_time * 1e9)
    message = pb.HeartbeatAck(
        sequence=ack.sequence,
        server_time=timestamp_pb2.Timestamp(
            seconds=nanos // 1_000_000_000, nanos=nanos % 1_000_000_000
        ),
        status=status_to_proto(ack.status),
    )
    if ack.first:
        interval, ttl = _durations(interval_s, ttl_s)
        message.interval.CopyFrom(interval)
        message.ttl.CopyFrom(ttl)
    return message


def ack_response(ack: Ack, interval_s: float, ttl_s: float) -> pb.HeartbeatResponse:
    """The stream's answer to a beat, filled in place (no submessage built and copied)."""
    response = pb.HeartbeatResponse()
    message = response.ack
    message.sequence = ack.sequence
    nanos = int(ack.server_time * 1e9)
    message.server_time.seconds, message.server_time.nanos = divmod(nanos, 1_000_000_000)
    message.status = status_to_proto(ack.status)
    if ack.first:
        interval, ttl = _durations(interval_s, ttl_s)
        message.interval.CopyFrom(interval)
        message.ttl.CopyFrom(ttl)
    return response


def push_to_proto(item: object) -> pb.HeartbeatResponse:
    """A server push: a new interval, a reconnect notice, or an Event proto as is."""
    if isinstance(item, NewInterval):
        return pb.HeartbeatResponse(new_interval=_duration(item.interval_s))
    if isinstance(item, Reconnect):
        return pb.HeartbeatResponse(
            reconnect=pb.Reconnect(reason=item.reason, retry_after=_duration(item.retry_after_s))
        )
    if isinstance(item, resources_pb2.Event):
        return pb.HeartbeatResponse(event=item)
    raise TypeError(f"cannot send {type(item).__name__} on a heartbeat stream")


def presence_to_proto(presence: Presence) -> pb.Presence:
    message = pb.Presence(
        name=agent_name(presence.agent_id) + "/presence",
        status=status_to_proto(presence.status),
        load=presence.load,
        streaming=presence.streaming,
    )
    if presence.last_seen_at is not None:
        message.last_seen_time.FromDatetime(presence.last_seen_at.astimezone(UTC))
    return message
