from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RateClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RATE_CLASS_UNSPECIFIED: _ClassVar[RateClass]
    RATE_CLASS_READ: _ClassVar[RateClass]
    RATE_CLASS_SEARCH: _ClassVar[RateClass]
    RATE_CLASS_WRITE: _ClassVar[RateClass]
    RATE_CLASS_HEARTBEAT: _ClassVar[RateClass]

class Admission(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADMISSION_UNSPECIFIED: _ClassVar[Admission]
    ADMISSION_SESSION_IN_SCRIPT: _ClassVar[Admission]
    ADMISSION_COUNT_IN_SCRIPT: _ClassVar[Admission]

class CacheGeneration(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CACHE_GENERATION_UNSPECIFIED: _ClassVar[CacheGeneration]
    CACHE_GENERATION_AGENT: _ClassVar[CacheGeneration]
    CACHE_GENERATION_AGENTS: _ClassVar[CacheGeneration]
    CACHE_GENERATION_AGENTS_STATUS: _ClassVar[CacheGeneration]
    CACHE_GENERATION_CAPABILITIES: _ClassVar[CacheGeneration]
    CACHE_GENERATION_REPUTATION: _ClassVar[CacheGeneration]
    CACHE_GENERATION_LEADERBOARD: _ClassVar[CacheGeneration]
RATE_CLASS_UNSPECIFIED: RateClass
RATE_CLASS_READ: RateClass
RATE_CLASS_SEARCH: RateClass
RATE_CLASS_WRITE: RateClass
RATE_CLASS_HEARTBEAT: RateClass
ADMISSION_UNSPECIFIED: Admission
ADMISSION_SESSION_IN_SCRIPT: Admission
ADMISSION_COUNT_IN_SCRIPT: Admission
CACHE_GENERATION_UNSPECIFIED: CacheGeneration
CACHE_GENERATION_AGENT: CacheGeneration
CACHE_GENERATION_AGENTS: CacheGeneration
CACHE_GENERATION_AGENTS_STATUS: CacheGeneration
CACHE_GENERATION_CAPABILITIES: CacheGeneration
CACHE_GENERATION_REPUTATION: CacheGeneration
CACHE_GENERATION_LEADERBOARD: CacheGeneration
POLICY_FIELD_NUMBER: _ClassVar[int]
policy: _descriptor.FieldDescriptor

class MethodPolicy(_message.Message):
    __slots__ = ("rate_class", "admission", "cache_ttl_seconds", "cache_generations", "http_max_age_seconds", "presence_merge")
    RATE_CLASS_FIELD_NUMBER: _ClassVar[int]
    ADMISSION_FIELD_NUMBER: _ClassVar[int]
    CACHE_TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CACHE_GENERATIONS_FIELD_NUMBER: _ClassVar[int]
    HTTP_MAX_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PRESENCE_MERGE_FIELD_NUMBER: _ClassVar[int]
    rate_class: RateClass
    admission: Admission
    cache_ttl_seconds: int
    cache_generations: _containers.RepeatedScalarFieldContainer[CacheGeneration]
    http_max_age_seconds: int
    presence_merge: bool
    def __init__(self, rate_class: _Optional[_Union[RateClass, str]] = ..., admission: _Optional[_Union[Admission, str]] = ..., cache_ttl_seconds: _Optional[int] = ..., cache_generations: _Optional[_Iterable[_Union[CacheGeneration, str]]] = ..., http_max_age_seconds: _Optional[int] = ..., presence_merge: _Optional[bool] = ...) -> None: ...
