import datetime

from agentregistry.v1 import auth_service_pb2 as _auth_service_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
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

class AttestationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTESTATION_KIND_UNSPECIFIED: _ClassVar[AttestationKind]
    ATTESTATION_KIND_CAPABILITY: _ClassVar[AttestationKind]
    ATTESTATION_KIND_IDENTITY: _ClassVar[AttestationKind]
    ATTESTATION_KIND_BEHAVIOUR: _ClassVar[AttestationKind]
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
ATTESTATION_KIND_UNSPECIFIED: AttestationKind
ATTESTATION_KIND_CAPABILITY: AttestationKind
ATTESTATION_KIND_IDENTITY: AttestationKind
ATTESTATION_KIND_BEHAVIOUR: AttestationKind

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
    __slots__ = ("id", "type", "agent", "create_time", "agent_registered", "agent_updated", "agent_deleted", "agent_status_changed", "attestation_received", "attestation_revoked", "capability_verified", "webhook_disabled", "agent_verified", "agent_unverified", "agent_suspended", "agent_taken_down", "agent_reinstated", "api_key_plan_changed", "agent_domain_verified", "agent_domain_lost")
    ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    AGENT_REGISTERED_FIELD_NUMBER: _ClassVar[int]
    AGENT_UPDATED_FIELD_NUMBER: _ClassVar[int]
    AGENT_DELETED_FIELD_NUMBER: _ClassVar[int]
    AGENT_STATUS_CHANGED_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_REVOKED_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_DISABLED_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    AGENT_UNVERIFIED_FIELD_NUMBER: _ClassVar[int]
    AGENT_SUSPENDED_FIELD_NUMBER: _ClassVar[int]
    AGENT_TAKEN_DOWN_FIELD_NUMBER: _ClassVar[int]
    AGENT_REINSTATED_FIELD_NUMBER: _ClassVar[int]
    API_KEY_PLAN_CHANGED_FIELD_NUMBER: _ClassVar[int]
    AGENT_DOMAIN_VERIFIED_FIELD_NUMBER: _ClassVar[int]
    AGENT_DOMAIN_LOST_FIELD_NUMBER: _ClassVar[int]
    id: int
    type: EventType
    agent: str
    create_time: _timestamp_pb2.Timestamp
    agent_registered: AgentRegistered
    agent_updated: AgentUpdated
    agent_deleted: AgentDeleted
    agent_status_changed: AgentStatusChanged
    attestation_received: AttestationReceived
    attestation_revoked: AttestationRevoked
    capability_verified: CapabilityVerified
    webhook_disabled: WebhookDisabled
    agent_verified: AgentVerified
    agent_unverified: AgentUnverified
    agent_suspended: AgentSuspended
    agent_taken_down: AgentTakenDown
    agent_reinstated: AgentReinstated
    api_key_plan_changed: ApiKeyPlanChanged
    agent_domain_verified: AgentDomainVerified
    agent_domain_lost: AgentDomainLost
    def __init__(self, id: _Optional[int] = ..., type: _Optional[_Union[EventType, str]] = ..., agent: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agent_registered: _Optional[_Union[AgentRegistered, _Mapping]] = ..., agent_updated: _Optional[_Union[AgentUpdated, _Mapping]] = ..., agent_deleted: _Optional[_Union[AgentDeleted, _Mapping]] = ..., agent_status_changed: _Optional[_Union[AgentStatusChanged, _Mapping]] = ..., attestation_received: _Optional[_Union[AttestationReceived, _Mapping]] = ..., attestation_revoked: _Optional[_Union[AttestationRevoked, _Mapping]] = ..., capability_verified: _Optional[_Union[CapabilityVerified, _Mapping]] = ..., webhook_disabled: _Optional[_Union[WebhookDisabled, _Mapping]] = ..., agent_verified: _Optional[_Union[AgentVerified, _Mapping]] = ..., agent_unverified: _Optional[_Union[AgentUnverified, _Mapping]] = ..., agent_suspended: _Optional[_Union[AgentSuspended, _Mapping]] = ..., agent_taken_down: _Optional[_Union[AgentTakenDown, _Mapping]] = ..., agent_reinstated: _Optional[_Union[AgentReinstated, _Mapping]] = ..., api_key_plan_changed: _Optional[_Union[ApiKeyPlanChanged, _Mapping]] = ..., agent_domain_verified: _Optional[_Union[AgentDomainVerified, _Mapping]] = ..., agent_domain_lost: _Optional[_Union[AgentDomainLost, _Mapping]] = ...) -> None: ...

class AgentRegistered(_message.Message):
    __slots__ = ("display_name", "type", "capabilities")
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    display_name: str
    type: AgentType
    capabilities: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, display_name: _Optional[str] = ..., type: _Optional[_Union[AgentType, str]] = ..., capabilities: _Optional[_Iterable[str]] = ...) -> None: ...

class AgentUpdated(_message.Message):
    __slots__ = ("update_mask", "capability_added", "capability_removed")
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_ADDED_FIELD_NUMBER: _ClassVar[int]
    CAPABILITY_REMOVED_FIELD_NUMBER: _ClassVar[int]
    update_mask: _field_mask_pb2.FieldMask
    capability_added: str
    capability_removed: str
    def __init__(self, update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ..., capability_added: _Optional[str] = ..., capability_removed: _Optional[str] = ...) -> None: ...

class AgentDeleted(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentStatusChanged(_message.Message):
    __slots__ = ("status", "previous_status", "last_seen_time")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_TIME_FIELD_NUMBER: _ClassVar[int]
    status: AgentStatus
    previous_status: AgentStatus
    last_seen_time: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[AgentStatus, str]] = ..., previous_status: _Optional[_Union[AgentStatus, str]] = ..., last_seen_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AttestationReceived(_message.Message):
    __slots__ = ("attestation", "attester", "kind", "replaced")
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    attestation: str
    attester: str
    kind: AttestationKind
    replaced: str
    def __init__(self, attestation: _Optional[str] = ..., attester: _Optional[str] = ..., kind: _Optional[_Union[AttestationKind, str]] = ..., replaced: _Optional[str] = ...) -> None: ...

class AttestationRevoked(_message.Message):
    __slots__ = ("attestation", "attester", "kind")
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    ATTESTER_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    attestation: str
    attester: str
    kind: AttestationKind
    def __init__(self, attestation: _Optional[str] = ..., attester: _Optional[str] = ..., kind: _Optional[_Union[AttestationKind, str]] = ...) -> None: ...

class CapabilityVerified(_message.Message):
    __slots__ = ("capability", "weighted_support")
    CAPABILITY_FIELD_NUMBER: _ClassVar[int]
    WEIGHTED_SUPPORT_FIELD_NUMBER: _ClassVar[int]
    capability: str
    weighted_support: float
    def __init__(self, capability: _Optional[str] = ..., weighted_support: _Optional[float] = ...) -> None: ...

class WebhookDisabled(_message.Message):
    __slots__ = ("webhook", "failures")
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    webhook: str
    failures: int
    def __init__(self, webhook: _Optional[str] = ..., failures: _Optional[int] = ...) -> None: ...

class AgentVerified(_message.Message):
    __slots__ = ("operator", "reason")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    operator: str
    reason: str
    def __init__(self, operator: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentUnverified(_message.Message):
    __slots__ = ("operator", "reason")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    operator: str
    reason: str
    def __init__(self, operator: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentSuspended(_message.Message):
    __slots__ = ("operator", "reason")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    operator: str
    reason: str
    def __init__(self, operator: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentTakenDown(_message.Message):
    __slots__ = ("operator", "reason")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    operator: str
    reason: str
    def __init__(self, operator: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentReinstated(_message.Message):
    __slots__ = ("operator", "reason")
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    operator: str
    reason: str
    def __init__(self, operator: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ApiKeyPlanChanged(_message.Message):
    __slots__ = ("api_key", "plan", "operator", "reason")
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    PLAN_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    plan: _auth_service_pb2.ApiKeyPlan
    operator: str
    reason: str
    def __init__(self, api_key: _Optional[str] = ..., plan: _Optional[_Union[_auth_service_pb2.ApiKeyPlan, str]] = ..., operator: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AgentDomainVerified(_message.Message):
    __slots__ = ("domain",)
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    domain: str
    def __init__(self, domain: _Optional[str] = ...) -> None: ...

class AgentDomainLost(_message.Message):
    __slots__ = ("domain", "error")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    domain: str
    error: str
    def __init__(self, domain: _Optional[str] = ..., error: _Optional[str] = ...) -> None: ...
