from agentregistry.v1 import policy_pb2 as _policy_pb2
from agentregistry.v1 import resources_pb2 as _resources_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CardSignatureStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CARD_SIGNATURE_STATUS_UNSPECIFIED: _ClassVar[CardSignatureStatus]
    CARD_SIGNATURE_STATUS_UNSIGNED: _ClassVar[CardSignatureStatus]
    CARD_SIGNATURE_STATUS_VERIFIED: _ClassVar[CardSignatureStatus]
    CARD_SIGNATURE_STATUS_SIGNATURE_INVALID: _ClassVar[CardSignatureStatus]
    CARD_SIGNATURE_STATUS_UNSUPPORTED_ALGORITHM: _ClassVar[CardSignatureStatus]
    CARD_SIGNATURE_STATUS_MALFORMED: _ClassVar[CardSignatureStatus]
CARD_SIGNATURE_STATUS_UNSPECIFIED: CardSignatureStatus
CARD_SIGNATURE_STATUS_UNSIGNED: CardSignatureStatus
CARD_SIGNATURE_STATUS_VERIFIED: CardSignatureStatus
CARD_SIGNATURE_STATUS_SIGNATURE_INVALID: CardSignatureStatus
CARD_SIGNATURE_STATUS_UNSUPPORTED_ALGORITHM: CardSignatureStatus
CARD_SIGNATURE_STATUS_MALFORMED: CardSignatureStatus

class ImportAgentCardRequest(_message.Message):
    __slots__ = ("card", "card_uri", "agent", "public_key", "signature", "type")
    CARD_FIELD_NUMBER: _ClassVar[int]
    CARD_URI_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    card: _struct_pb2.Struct
    card_uri: str
    agent: str
    public_key: bytes
    signature: bytes
    type: _resources_pb2.AgentType
    def __init__(self, card: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., card_uri: _Optional[str] = ..., agent: _Optional[str] = ..., public_key: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., type: _Optional[_Union[_resources_pb2.AgentType, str]] = ...) -> None: ...

class ImportAgentCardResponse(_message.Message):
    __slots__ = ("agent", "created", "signature_status")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_STATUS_FIELD_NUMBER: _ClassVar[int]
    agent: _resources_pb2.Agent
    created: bool
    signature_status: CardSignatureStatus
    def __init__(self, agent: _Optional[_Union[_resources_pb2.Agent, _Mapping]] = ..., created: _Optional[bool] = ..., signature_status: _Optional[_Union[CardSignatureStatus, str]] = ...) -> None: ...

class GetAgentCardRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetRegistryCardRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VerifyAgentCardRequest(_message.Message):
    __slots__ = ("agent", "card")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CARD_FIELD_NUMBER: _ClassVar[int]
    agent: str
    card: _struct_pb2.Struct
    def __init__(self, agent: _Optional[str] = ..., card: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class VerifyAgentCardResponse(_message.Message):
    __slots__ = ("signature_status",)
    SIGNATURE_STATUS_FIELD_NUMBER: _ClassVar[int]
    signature_status: CardSignatureStatus
    def __init__(self, signature_status: _Optional[_Union[CardSignatureStatus, str]] = ...) -> None: ...
