from agentregistry.v1 import policy_pb2 as _policy_pb2
from agentregistry.v1 import resources_pb2 as _resources_pb2
from google.api import annotations_pb2 as _annotations_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentFilter(_message.Message):
    __slots__ = ("capabilities", "capability_match", "types", "protocols", "tags", "statuses", "min_trust_score", "verified_only", "domain_proven_only")
    class Match(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MATCH_UNSPECIFIED: _ClassVar[AgentFilter.Match]
        MATCH_ANY: _ClassVar[AgentFilter.Match]
        MATCH_ALL: _ClassVar[AgentFilter.Match]
    MATCH_UNSPECIFIED: AgentFilter.Match
    MATCH_ANY: AgentFilter.Match
    MATCH_ALL: AgentFilter.Match
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_MATCH_FIELD_NUMBER: _ClassVar[int]
    TYPES_FIELD_NUMBER: _ClassVar[int]
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    MIN_TRUST_SCORE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_ONLY_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_PROVEN_ONLY_FIELD_NUMBER: _ClassVar[int]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    capability_match: AgentFilter.Match
    types: _containers.RepeatedScalarFieldContainer[_resources_pb2.AgentType]
    protocols: _containers.RepeatedScalarFieldContainer[str]
    tags: _containers.RepeatedScalarFieldContainer[str]
    statuses: _containers.RepeatedScalarFieldContainer[_resources_pb2.AgentStatus]
    min_trust_score: float
    verified_only: bool
    domain_proven_only: bool
    def __init__(self, capabilities: _Optional[_Iterable[str]] = ..., capability_match: _Optional[_Union[AgentFilter.Match, str]] = ..., types: _Optional[_Iterable[_Union[_resources_pb2.AgentType, str]]] = ..., protocols: _Optional[_Iterable[str]] = ..., tags: _Optional[_Iterable[str]] = ..., statuses: _Optional[_Iterable[_Union[_resources_pb2.AgentStatus, str]]] = ..., min_trust_score: _Optional[float] = ..., verified_only: _Optional[bool] = ..., domain_proven_only: _Optional[bool] = ...) -> None: ...

class SearchAgentsRequest(_message.Message):
    __slots__ = ("query", "filter", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    filter: AgentFilter
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., filter: _Optional[_Union[AgentFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class SearchResult(_message.Message):
    __slots__ = ("agent", "score", "text_rank", "match_reasons", "semantic_similarity")
    class MatchReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MATCH_REASON_UNSPECIFIED: _ClassVar[SearchResult.MatchReason]
        MATCH_REASON_TEXT: _ClassVar[SearchResult.MatchReason]
        MATCH_REASON_SEMANTIC: _ClassVar[SearchResult.MatchReason]
        MATCH_REASON_CAPABILITY: _ClassVar[SearchResult.MatchReason]
    MATCH_REASON_UNSPECIFIED: SearchResult.MatchReason
    MATCH_REASON_TEXT: SearchResult.MatchReason
    MATCH_REASON_SEMANTIC: SearchResult.MatchReason
    MATCH_REASON_CAPABILITY: SearchResult.MatchReason
    AGENT_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TEXT_RANK_FIELD_NUMBER: _ClassVar[int]
    MATCH_REASONS_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    agent: _resources_pb2.Agent
    score: float
    text_rank: float
    match_reasons: _containers.RepeatedScalarFieldContainer[SearchResult.MatchReason]
    semantic_similarity: float
    def __init__(self, agent: _Optional[_Union[_resources_pb2.Agent, _Mapping]] = ..., score: _Optional[float] = ..., text_rank: _Optional[float] = ..., match_reasons: _Optional[_Iterable[_Union[SearchResult.MatchReason, str]]] = ..., semantic_similarity: _Optional[float] = ...) -> None: ...

class SearchAgentsResponse(_message.Message):
    __slots__ = ("results", "next_page_token", "total_size_estimate", "semantic_unavailable")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    next_page_token: str
    total_size_estimate: int
    semantic_unavailable: bool
    def __init__(self, results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., total_size_estimate: _Optional[int] = ..., semantic_unavailable: _Optional[bool] = ...) -> None: ...

class SuggestAgentsRequest(_message.Message):
    __slots__ = ("prefix", "limit")
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    prefix: str
    limit: int
    def __init__(self, prefix: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Suggestion(_message.Message):
    __slots__ = ("agent", "display_name", "similarity")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    agent: str
    display_name: str
    similarity: float
    def __init__(self, agent: _Optional[str] = ..., display_name: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class SuggestAgentsResponse(_message.Message):
    __slots__ = ("suggestions",)
    SUGGESTIONS_FIELD_NUMBER: _ClassVar[int]
    suggestions: _containers.RepeatedCompositeFieldContainer[Suggestion]
    def __init__(self, suggestions: _Optional[_Iterable[_Union[Suggestion, _Mapping]]] = ...) -> None: ...

class FindAgentsRequest(_message.Message):
    __slots__ = ("query", "filter", "page_size", "page_token")
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    query: str
    filter: AgentFilter
    page_size: int
    page_token: str
    def __init__(self, query: _Optional[str] = ..., filter: _Optional[_Union[AgentFilter, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class MatchedCapability(_message.Message):
    __slots__ = ("capability", "confidence", "match_reasons")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    MATCH_REASONS_FIELD_NUMBER: _ClassVar[int]
    capability: str
    confidence: float
    match_reasons: _containers.RepeatedScalarFieldContainer[SearchResult.MatchReason]
    def __init__(self, capability: _Optional[str] = ..., confidence: _Optional[float] = ..., match_reasons: _Optional[_Iterable[_Union[SearchResult.MatchReason, str]]] = ...) -> None: ...

class FindAgentsResponse(_message.Message):
    __slots__ = ("matched_capabilities", "fell_back_to_text", "results", "next_page_token", "semantic_unavailable")
    MATCHED_CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    FELL_BACK_TO_TEXT_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_UNAVAILABLE_FIELD_NUMBER: _ClassVar[int]
    matched_capabilities: _containers.RepeatedCompositeFieldContainer[MatchedCapability]
    fell_back_to_text: bool
    results: _containers.RepeatedCompositeFieldContainer[SearchResult]
    next_page_token: str
    semantic_unavailable: bool
    def __init__(self, matched_capabilities: _Optional[_Iterable[_Union[MatchedCapability, _Mapping]]] = ..., fell_back_to_text: _Optional[bool] = ..., results: _Optional[_Iterable[_Union[SearchResult, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., semantic_unavailable: _Optional[bool] = ...) -> None: ...

class ListCapabilityAgentsRequest(_message.Message):
    __slots__ = ("capability", "verified_only", "page_size", "page_token")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    capability: str
    verified_only: bool
    page_size: int
    page_token: str
    def __init__(self, capability: _Optional[str] = ..., verified_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListCapabilityAgentsResponse(_message.Message):
    __slots__ = ("agents", "next_page_token")
    AGENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    agents: _containers.RepeatedCompositeFieldContainer[_resources_pb2.Agent]
    next_page_token: str
    def __init__(self, agents: _Optional[_Iterable[_Union[_resources_pb2.Agent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetRegistryStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RegistryStats(_message.Message):
    __slots__ = ("total_agents", "agents_by_type", "agents_by_status", "agents_by_capability")
    class AgentsByTypeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class AgentsByStatusEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class AgentsByCapabilityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    TOTAL_AGENTS_FIELD_NUMBER: _ClassVar[int]
    AGENTS_BY_TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENTS_BY_STATUS_FIELD_NUMBER: _ClassVar[int]
    AGENTS_BY_CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    total_agents: int
    agents_by_type: _containers.ScalarMap[str, int]
    agents_by_status: _containers.ScalarMap[str, int]
    agents_by_capability: _containers.ScalarMap[str, int]
    def __init__(self, total_agents: _Optional[int] = ..., agents_by_type: _Optional[_Mapping[str, int]] = ..., agents_by_status: _Optional[_Mapping[str, int]] = ..., agents_by_capability: _Optional[_Mapping[str, int]] = ...) -> None: ...
