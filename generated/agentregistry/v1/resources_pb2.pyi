import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgentType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_TYPE_UNSPECIFIED: _ClassVar[AgentType]
    AGENT_TYPE_ASSISTANT: _ClassVar[AgentType]
    AGENT_TYPE_AUTONOMOUS: _ClassVar[AgentType]
    AGENT_TYPE_TOOL: _ClassVar[AgentType]
    AGENT_TYPE_ORCHESTRATOR: _ClassVar[AgentType]
    AGENT_TYPE_SERVICE: _ClassVar[AgentType]

class AgentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATUS_UNSPECIFIED: _ClassVar[AgentStatus]
    AGENT_STATUS_ONLINE: _ClassVar[AgentStatus]
    AGENT_STATUS_OFFLINE: _ClassVar[AgentStatus]
    AGENT_STATUS_BUSY: _ClassVar[AgentStatus]
    AGENT_STATUS_MAINTENANCE: _ClassVar[AgentStatus]

class AgentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AGENT_STATE_UNSPECIFIED: _ClassVar[AgentState]
    AGENT_STATE_ACTIVE: _ClassVar[AgentState]
    AGENT_STATE_SUSPENDED: _ClassVar[AgentState]
    AGENT_STATE_TAKEN_DOWN: _ClassVar[AgentState]

class ReputationFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPUTATION_FLAG_UNSPECIFIED: _ClassVar[ReputationFlag]
    REPUTATION_FLAG_UNRATED: _ClassVar[ReputationFlag]
    REPUTATION_FLAG_STANDING_FROM_ONE_GROUP: _ClassVar[ReputationFlag]
    REPUTATION_FLAG_BEHAVIOUR_FROM_ONE_RATER: _ClassVar[ReputationFlag]
    REPUTATION_FLAG_SCORE_MOVED_SHARPLY: _ClassVar[ReputationFlag]

class EventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_TYPE_UNSPECIFIED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_REGISTERED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_UPDATED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_DELETED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_STATUS_CHANGED: _ClassVar[EventType]
    EVENT_TYPE_ATTESTATION_RECEIVED: _ClassVar[EventType]
    EVENT_TYPE_ATTESTATION_REVOKED: _ClassVar[EventType]
    EVENT_TYPE_CAPABILITY_VERIFIED: _ClassVar[EventType]
    EVENT_TYPE_WEBHOOK_DISABLED: _ClassVar[EventType]
    EVENT_TYPE_KEEPALIVE: _ClassVar[EventType]
    EVENT_TYPE_AGENT_VERIFIED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_UNVERIFIED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_SUSPENDED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_TAKEN_DOWN: _ClassVar[EventType]
    EVENT_TYPE_AGENT_REINSTATED: _ClassVar[EventType]
    EVENT_TYPE_API_KEY_PLAN_CHANGED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_DOMAIN_VERIFIED: _ClassVar[EventType]
    EVENT_TYPE_AGENT_DOMAIN_LOST: _ClassVar[EventType]
AGENT_TYPE_UNSPECIFIED: AgentType
AGENT_TYPE_ASSISTANT: AgentType
AGENT_TYPE_AUTONOMOUS: AgentType
AGENT_TYPE_TOOL: AgentType
AGENT_TYPE_ORCHESTRATOR: AgentType
AGENT_TYPE_SERVICE: AgentType
AGENT_STATUS_UNSPECIFIED: AgentStatus
AGENT_STATUS_ONLINE: AgentStatus
AGENT_STATUS_OFFLINE: AgentStatus
AGENT_STATUS_BUSY: AgentStatus
AGENT_STATUS_MAINTENANCE: AgentStatus
AGENT_STATE_UNSPECIFIED: AgentState
AGENT_STATE_ACTIVE: AgentState
AGENT_STATE_SUSPENDED: AgentState
AGENT_STATE_TAKEN_DOWN: AgentState
REPUTATION_FLAG_UNSPECIFIED: ReputationFlag
REPUTATION_FLAG_UNRATED: ReputationFlag
REPUTATION_FLAG_STANDING_FROM_ONE_GROUP: ReputationFlag
REPUTATION_FLAG_BEHAVIOUR_FROM_ONE_RATER: ReputationFlag
REPUTATION_FLAG_SCORE_MOVED_SHARPLY: ReputationFlag
EVENT_TYPE_UNSPECIFIED: EventType
EVENT_TYPE_AGENT_REGISTERED: EventType
EVENT_TYPE_AGENT_UPDATED: EventType
EVENT_TYPE_AGENT_DELETED: EventType
EVENT_TYPE_AGENT_STATUS_CHANGED: EventType
EVENT_TYPE_ATTESTATION_RECEIVED: EventType
EVENT_TYPE_ATTESTATION_REVOKED: EventType
EVENT_TYPE_CAPABILITY_VERIFIED: EventType
EVENT_TYPE_WEBHOOK_DISABLED: EventType
EVENT_TYPE_KEEPALIVE: EventType
EVENT_TYPE_AGENT_VERIFIED: EventType
EVENT_TYPE_AGENT_UNVERIFIED: EventType
EVENT_TYPE_AGENT_SUSPENDED: EventType
EVENT_TYPE_AGENT_TAKEN_DOWN: EventType
EVENT_TYPE_AGENT_REINSTATED: EventType
EVENT_TYPE_API_KEY_PLAN_CHANGED: EventType
EVENT_TYPE_AGENT_DOMAIN_VERIFIED: EventType
EVENT_TYPE_AGENT_DOMAIN_LOST: EventType

class Agent(_message.Message):
    __slots__ = ("name", "display_name", "description", "type", "endpoint_uri", "public_key", "tags", "protocols", "capabilities", "metadata", "status", "last_seen_time", "trust_score", "verified", "key_version", "create_time", "update_time", "etag", "state", "domain", "domain_verify_time")
    class MetadataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_URI_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOLS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    TRUST_SCORE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    KEY_VERSION_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_VERIFY_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    type: AgentType
    endpoint_uri: str
    public_key: bytes
    tags: _containers.RepeatedScalarFieldContainer[str]
    protocols: _containers.RepeatedScalarFieldContainer[str]
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    metadata: _containers.ScalarMap[str, str]
    status: AgentStatus
    last_seen_time: _timestamp_pb2.Timestamp
    trust_score: float
    verified: bool
    key_version: int
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    state: AgentState
    domain: str
    domain_verify_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[AgentType, str]] = ..., endpoint_uri: _Optional[str] = ..., public_key: _Optional[bytes] = ..., tags: _Optional[_Iterable[str]] = ..., protocols: _Optional[_Iterable[str]] = ..., capabilities: _Optional[_Iterable[str]] = ..., metadata: _Optional[_Mapping[str, str]] = ..., status: _Optional[_Union[AgentStatus, str]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., trust_score: _Optional[float] = ..., verified: _Optional[bool] = ..., key_version: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ..., state: _Optional[_Union[AgentState, str]] = ..., domain: _Optional[str] = ..., domain_verify_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Capability(_message.Message):
    __slots__ = ("name", "display_name", "description", "synonyms", "agent_count")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    SYNONYMS_FIELD_NUMBER: _ClassVar[int]
    AGENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    name: str
    display_name: str
    description: str
    synonyms: _containers.RepeatedScalarFieldContainer[str]
    agent_count: int
    def __init__(self, name: _Optional[str] = ..., display_name: _Optional[str] = ..., description: _Optional[str] = ..., synonyms: _Optional[_Iterable[str]] = ..., agent_count: _Optional[int] = ...) -> None: ...

class Attestation(_message.Message):
    __slots__ = ("name", "attester", "subject", "capability", "identity", "behaviour", "issue_time", "expire_time", "signature", "state", "create_time", "end_time")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Attestation.State]
        STATE_ACTIVE: _ClassVar[Attestation.State]
        STATE_REPLACED: _ClassVar[Attestation.State]
        STATE_REVOKED: _ClassVar[Attestation.State]
        STATE_EXPIRED: _ClassVar[Attestation.State]
    STATE_UNSPECIFIED: Attestation.State
    STATE_ACTIVE: Attestation.State
    STATE_REPLACED: Attestation.State
    STATE_REVOKED: Attestation.State
    STATE_EXPIRED: Attestation.State
    NAME_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_FIELD_NUMBER: _ClassVar[int]
    ISSUE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    attester: str
    subject: str
    capability: CapabilityClaim
    identity: IdentityClaim
    behaviour: BehaviourClaim
    issue_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    signature: bytes
    state: Attestation.State
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., attester: _Optional[str] = ..., subject: _Optional[str] = ..., capability: _Optional[_Union[CapabilityClaim, _Mapping]] = ..., identity: _Optional[_Union[IdentityClaim, _Mapping]] = ..., behaviour: _Optional[_Union[BehaviourClaim, _Mapping]] = ..., issue_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., signature: _Optional[bytes] = ..., state: _Optional[_Union[Attestation.State, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CapabilityClaim(_message.Message):
    __slots__ = ("capability", "value")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    capability: str
    value: bool
    def __init__(self, capability: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...

class IdentityClaim(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class BehaviourClaim(_message.Message):
    __slots__ = ("score",)
    SCORE_FIELD_NUMBER: _ClassVar[int]
    score: int
    def __init__(self, score: _Optional[int] = ...) -> None: ...

class Reputation(_message.Message):
    __slots__ = ("name", "trust_score", "behaviour_average", "behaviour_claims", "capabilities", "distinct_attesters", "component_size", "component_seeded", "compute_time", "reachable_from_seed", "standing_score", "behaviour_score", "confidence", "attesters_with_standing", "top_contributors", "rated", "standing_groups", "standing_sources", "behaviour_raters", "flags")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TRUST_SCORE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_AVERAGE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_CLAIMS_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    DISTINCT_ATTESTERS_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_SIZE_FIELD_NUMBER: _ClassVar[int]
    COMPONENT_SEEDED_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_TIME_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FROM_SEED_FIELD_NUMBER: _ClassVar[int]
    STANDING_SCORE_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_SCORE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    ATTESTERS_WITH_STANDING_FIELD_NUMBER: _ClassVar[int]
    TOP_CONTRIBUTORS_FIELD_NUMBER: _ClassVar[int]
    RATED_FIELD_NUMBER: _ClassVar[int]
    STANDING_GROUPS_FIELD_NUMBER: _ClassVar[int]
    STANDING_SOURCES_FIELD_NUMBER: _ClassVar[int]
    BEHAVIOUR_RATERS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    name: str
    trust_score: float
    behaviour_average: float
    behaviour_claims: int
    capabilities: _containers.RepeatedCompositeFieldContainer[CapabilityTrust]
    distinct_attesters: int
    component_size: int
    component_seeded: bool
    compute_time: _timestamp_pb2.Timestamp
    reachable_from_seed: bool
    standing_score: float
    behaviour_score: float
    confidence: float
    attesters_with_standing: int
    top_contributors: _containers.RepeatedCompositeFieldContainer[ReputationContributor]
    rated: bool
    standing_groups: int
    standing_sources: _containers.RepeatedCompositeFieldContainer[StandingSource]
    behaviour_raters: _containers.RepeatedCompositeFieldContainer[BehaviourRater]
    flags: _containers.RepeatedScalarFieldContainer[ReputationFlag]
    def __init__(self, name: _Optional[str] = ..., trust_score: _Optional[float] = ..., behaviour_average: _Optional[float] = ..., behaviour_claims: _Optional[int] = ..., capabilities: _Optional[_Iterable[_Union[CapabilityTrust, _Mapping]]] = ..., distinct_attesters: _Optional[int] = ..., component_size: _Optional[int] = ..., component_seeded: _Optional[bool] = ..., compute_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reachable_from_seed: _Optional[bool] = ..., standing_score: _Optional[float] = ..., behaviour_score: _Optional[float] = ..., confidence: _Optional[float] = ..., attesters_with_standing: _Optional[int] = ..., top_contributors: _Optional[_Iterable[_Union[ReputationContributor, _Mapping]]] = ..., rated: _Optional[bool] = ..., standing_groups: _Optional[int] = ..., standing_sources: _Optional[_Iterable[_Union[StandingSource, _Mapping]]] = ..., behaviour_raters: _Optional[_Iterable[_Union[BehaviourRater, _Mapping]]] = ..., flags: _Optional[_Iterable[_Union[ReputationFlag, str]]] = ...) -> None: ...

class StandingSource(_message.Message):
    __slots__ = ("seed_group", "share")
    SEED_GROUP_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    seed_group: int
    share: float
    def __init__(self, seed_group: _Optional[int] = ..., share: _Optional[float] = ...) -> None: ...

class BehaviourRater(_message.Message):
    __slots__ = ("agent", "weight")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    agent: str
    weight: float
    def __init__(self, agent: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class ReputationContributor(_message.Message):
    __slots__ = ("agent", "share")
    AGENT_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    agent: str
    share: float
    def __init__(self, agent: _Optional[str] = ..., share: _Optional[float] = ...) -> None: ...

class CapabilityTrust(_message.Message):
    __slots__ = ("capability", "positive_claims", "negative_claims", "weighted_support", "verified", "supporting_groups")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    POSITIVE_CLAIMS_FIELD_NUMBER: _ClassVar[int]
    NEGATIVE_CLAIMS_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_SUPPORT_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    SUPPORTING_GROUPS_FIELD_NUMBER: _ClassVar[int]
    capability: str
    positive_claims: int
    negative_claims: int
    weighted_support: float
    verified: bool
    supporting_groups: int
    def __init__(self, capability: _Optional[str] = ..., positive_claims: _Optional[int] = ..., negative_claims: _Optional[int] = ..., weighted_support: _Optional[float] = ..., verified: _Optional[bool] = ..., supporting_groups: _Optional[int] = ...) -> None: ...

class RankedAgent(_message.Message):
    __slots__ = ("rank", "agent")
    RANK_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    rank: int
    agent: Agent
    def __init__(self, rank: _Optional[int] = ..., agent: _Optional[_Union[Agent, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("id", "type", "agent", "create_time", "data")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: EventType
    agent: str
    create_time: _timestamp_pb2.Timestamp
    data: _struct_pb2.Struct
    def __init__(self, id: _Optional[int] = ..., type: _Optional[_Union[EventType, str]] = ..., agent: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...
