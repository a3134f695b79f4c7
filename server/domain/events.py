"""What the registry's writes announce: event types and the typed events services raise.

A service says what happened as one of these plain values; the outbox stores it
(`event_type`, `agent_id` and the `data()` document, in the same transaction as the
change), and server/events/convert.py turns a stored row into the API's typed
`Event` payload. The stored documents keep the keys rows have always had, so old
rows and new ones read the same way; the type names below are the only spelling
of the stored `event_type` strings.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from server.domain.agents import AgentState, AgentStatus
from server.domain.api_keys import Plan
from server.domain.attestations import ClaimKind
from server.domain.names import agent_name, capability_name


class EventType(enum.StrEnum):
    """Stored event type names (events.event_type, webhooks.event_types)."""

    AGENT_REGISTERED = "AGENT_REGISTERED"
    AGENT_UPDATED = "AGENT_UPDATED"
    AGENT_DELETED = "AGENT_DELETED"
    AGENT_STATUS_CHANGED = "AGENT_STATUS_CHANGED"
    ATTESTATION_RECEIVED = "ATTESTATION_RECEIVED"
    ATTESTATION_REVOKED = "ATTESTATION_REVOKED"
    CAPABILITY_VERIFIED = "CAPABILITY_VERIFIED"
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    KEEPALIVE = "KEEPALIVE"
    AGENT_VERIFIED = "AGENT_VERIFIED"
    AGENT_UNVERIFIED = "AGENT_UNVERIFIED"
    AGENT_SUSPENDED = "AGENT_SUSPENDED"
    AGENT_TAKEN_DOWN = "AGENT_TAKEN_DOWN"
    AGENT_REINSTATED = "AGENT_REINSTATED"
    API_KEY_PLAN_CHANGED = "API_KEY_PLAN_CHANGED"
    AGENT_DOMAIN_VERIFIED = "AGENT_DOMAIN_VERIFIED"
    AGENT_DOMAIN_LOST = "AGENT_DOMAIN_LOST"


# Operator actions on an agent; each is its own event type with the same fields.
MODERATION = frozenset(
    {
        EventType.AGENT_VERIFIED,
        EventType.AGENT_UNVERIFIED,
        EventType.AGENT_SUSPENDED,
        EventType.AGENT_TAKEN_DOWN,
        EventType.AGENT_REINSTATED,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """A change about `agent_id`, recorded in the outbox when its transaction commits."""

    agent_id: str
    TYPE: ClassVar[EventType]

    @property
    def event_type(self) -> EventType:
        return self.TYPE

    def data(self) -> dict[str, Any]:
        """The stored document (events.data): what a consumer needs beyond the type."""
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRegistered(DomainEvent):
    TYPE = EventType.AGENT_REGISTERED
    display_name: str
    agent_type: str
    capability_ids: tuple[str, ...] = ()

    def data(self) -> dict[str, Any]:
        return {
            "display_name": self.display_name,
            "type": self.agent_type,
            "capabilities": [capability_name(c) for c in sorted(self.capability_ids)],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentUpdated(DomainEvent):
    """Profile fields (proto field names), or one capability added or removed.

    `display_name` (the name after an update) and `key_version` (after a key rotation)
    are for this process's effects after commit only; they are not stored."""

    TYPE = EventType.AGENT_UPDATED
    fields: tuple[str, ...] = ()
    capability_added: str | None = None
    capability_removed: str | None = None
    display_name: str | None = None
    key_version: int | None = None

    def data(self) -> dict[str, Any]:
        if self.capability_added is not None:
            return {"capability_added": self.capability_added}
        if self.capability_removed is not None:
            return {"capability_removed": self.capability_removed}
        return {"fields": sorted(self.fields)}


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDeleted(DomainEvent):
    TYPE = EventType.AGENT_DELETED


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged(DomainEvent):
    """Written in bulk by the presence flush's own statement (db/repositories/presence.py),
    with these keys; here for writers of single events."""

    TYPE = EventType.AGENT_STATUS_CHANGED
    status: AgentStatus
    previous_status: AgentStatus
    last_seen_at: datetime

    def data(self) -> dict[str, Any]:
        return {
            "status": str(self.status),
            "previous_status": str(self.previous_status),
            "last_seen_time": self.last_seen_at.isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationReceived(DomainEvent):
    """`agent_id` is the subject."""

    TYPE = EventType.ATTESTATION_RECEIVED
    attestation_id: str
    attester_id: str
    kind: ClaimKind
    replaced_id: str | None = None

    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "attestation": f"attestations/{self.attestation_id}",
            "attester": agent_name(self.attester_id),
            "kind": self.kind.value,
        }
        if self.replaced_id is not None:
            data["replaced"] = f"attestations/{self.replaced_id}"
        return data


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationRevoked(DomainEvent):
    TYPE = EventType.ATTESTATION_REVOKED
    attestation_id: str
    attester_id: str
    kind: ClaimKind

    def data(self) -> dict[str, Any]:
        return {
            "attestation": f"attestations/{self.attestation_id}",
            "attester": agent_name(self.attester_id),
            "kind": self.kind.value,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CapabilityVerified(DomainEvent):
    TYPE = EventType.CAPABILITY_VERIFIED
    capability_id: str
    weighted_support: float

    def data(self) -> dict[str, Any]:
        return {
            "capability": capability_name(self.capability_id),
            "weighted_support": self.weighted_support,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookDisabled(DomainEvent):
    TYPE = EventType.WEBHOOK_DISABLED
    webhook_id: str
    failures: int

    def data(self) -> dict[str, Any]:
        webhook = f"{agent_name(self.agent_id)}/webhooks/{self.webhook_id}"
        return {"webhook": webhook, "failures": self.failures}


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentModerated(DomainEvent):
    """An operator action; `action` is one of MODERATION and is the stored type.

    `state` (the agent's state the action set, if any), `key_version` and `key_hashes`
    (the agent's API keys) are for this process's effects after commit only; they are
    not stored."""

    TYPE = EventType.AGENT_VERIFIED  # overridden per instance by `action`
    action: EventType
    operator: str
    reason: str
    state: AgentState | None = None
    key_version: int = 0
    key_hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if self.action not in MODERATION:
            raise ValueError(f"{self.action} is not a moderation event")

    @property
    def event_type(self) -> EventType:
        return self.action

    def data(self) -> dict[str, Any]:
        return {"operator": self.operator, "reason": self.reason}


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKeyPlanChanged(DomainEvent):
    """`key_hash` is for this process's effects after commit only; it is not stored."""

    TYPE = EventType.API_KEY_PLAN_CHANGED
    key_id: str
    plan: Plan
    operator: str
    reason: str
    key_hash: bytes = b""

    def data(self) -> dict[str, Any]:
        return {
            "operator": self.operator,
            "reason": self.reason,
            "api_key": self.key_id,
            "plan": str(self.plan),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDomainVerified(DomainEvent):
    TYPE = EventType.AGENT_DOMAIN_VERIFIED
    domain: str

    def data(self) -> dict[str, Any]:
        return {"domain": self.domain}


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDomainLost(DomainEvent):
    TYPE = EventType.AGENT_DOMAIN_LOST
    domain: str
    error: str

    def data(self) -> dict[str, Any]:
        return {"domain": self.domain, "error": self.error}
