import datetime

from agentregistry_client._proto import policy_pb2 as _policy_pb2
from agentregistry_client._proto import resources_pb2 as _resources_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class HeartbeatRequest(_message.Message):
    __slots__ = ("sequence", "status", "load")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    status: _resources_pb2.AgentStatus
    load: float
    def __init__(self, sequence: _Optional[int] = ..., status: _Optional[_Union[_resources_pb2.AgentStatus, str]] = ..., load: _Optional[float] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("ack", "event", "new_interval", "reconnect")
    ACK_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    NEW_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    RECONNECT_FIELD_NUMBER: _ClassVar[int]
    ack: HeartbeatAck
    event: _resources_pb2.Event
    new_interval: _duration_pb2.Duration
    reconnect: Reconnect
    def __init__(self, ack: _Optional[_Union[HeartbeatAck, _Mapping]] = ..., event: _Optional[_Union[_resources_pb2.Event, _Mapping]] = ..., new_interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., reconnect: _Optional[_Union[Reconnect, _Mapping]] = ...) -> None: ...

class HeartbeatAck(_message.Message):
    __slots__ = ("sequence", "interval", "ttl", "server_time", "status")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    SERVER_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    interval: _duration_pb2.Duration
    ttl: _duration_pb2.Duration
    server_time: _timestamp_pb2.Timestamp
    status: _resources_pb2.AgentStatus
    def __init__(self, sequence: _Optional[int] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., ttl: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., server_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[_resources_pb2.AgentStatus, str]] = ...) -> None: ...

class Reconnect(_message.Message):
    __slots__ = ("reason", "retry_after")
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_FIELD_NUMBER: _ClassVar[int]
    reason: str
    retry_after: _duration_pb2.Duration
    def __init__(self, reason: _Optional[str] = ..., retry_after: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class SendHeartbeatRequest(_message.Message):
    __slots__ = ("name", "status", "load", "sequence")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: _resources_pb2.AgentStatus
    load: float
    sequence: int
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.AgentStatus, str]] = ..., load: _Optional[float] = ..., sequence: _Optional[int] = ...) -> None: ...

class SetStatusRequest(_message.Message):
    __slots__ = ("name", "status")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: _resources_pb2.AgentStatus
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.AgentStatus, str]] = ...) -> None: ...

class GetPresenceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class Presence(_message.Message):
    __slots__ = ("name", "status", "last_seen_time", "load", "streaming")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    LOAD_FIELD_NUMBER: _ClassVar[int]
    STREAMING_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: _resources_pb2.AgentStatus
    last_seen_time: _timestamp_pb2.Timestamp
    load: float
    streaming: bool
    def __init__(self, name: _Optional[str] = ..., status: _Optional[_Union[_resources_pb2.AgentStatus, str]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., load: _Optional[float] = ..., streaming: _Optional[bool] = ...) -> None: ...
