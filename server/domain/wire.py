"""Domain values as the protos spell them: the conversions every feature's own converters
and the cached responses share, kept below them all."""

from __future__ import annotations

from datetime import datetime

from agentregistry.v1 import resources_pb2
from google.protobuf import timestamp_pb2

from server.domain.agents import AgentStatus, AgentType

_TYPE_TO_PROTO: dict[AgentType, resources_pb2.AgentType] = {
    AgentType.ASSISTANT: resources_pb2.AGENT_TYPE_ASSISTANT,
    AgentType.AUTONOMOUS: resources_pb2.AGENT_TYPE_AUTONOMOUS,
    AgentType.TOOL: resources_pb2.AGENT_TYPE_TOOL,
    AgentType.ORCHESTRATOR: resources_pb2.AGENT_TYPE_ORCHESTRATOR,
    AgentType.SERVICE: resources_pb2.AGENT_TYPE_SERVICE,
}
_TYPE_FROM_PROTO = {v: k for k, v in _TYPE_TO_PROTO.items()}
_STATUS_TO_PROTO: dict[AgentStatus, resources_pb2.AgentStatus] = {
    AgentStatus.ONLINE: resources_pb2.AGENT_STATUS_ONLINE,
    AgentStatus.OFFLINE: resources_pb2.AGENT_STATUS_OFFLINE,
    AgentStatus.BUSY: resources_pb2.AGENT_STATUS_BUSY,
    AgentStatus.MAINTENANCE: resources_pb2.AGENT_STATUS_MAINTENANCE,
}
STATUS_FROM_PROTO = {v: k for k, v in _STATUS_TO_PROTO.items()}


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    """From POSIX seconds: Timestamp.FromDatetime does the calendar arithmetic in Python,
    which costs more than the rest of an agent's conversion."""
    seconds = value.timestamp()
    whole = int(seconds // 1)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=value.microsecond * 1000)


def type_from_proto(value: int) -> AgentType | None:
    return _TYPE_FROM_PROTO.get(value)  # type: ignore[call-overload, no-any-return]


def type_to_proto(agent_type: AgentType) -> resources_pb2.AgentType:
    return _TYPE_TO_PROTO[agent_type]


def status_to_proto(status: AgentStatus) -> resources_pb2.AgentStatus:
    return _STATUS_TO_PROTO[status]
