"""Stored outbox documents (events.data) to the typed payloads of `Event`.

The only place that reads a stored document: rows are never migrated, so a key
missing from an older row (the agent's name on registrations, the kind on
revocations) leaves its payload field at its zero value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from agentregistry.v1 import auth_service_pb2
from agentregistry.v1 import resources_pb2 as pb
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from server.auth.convert import plan_to_proto
from server.domain.agents import AgentStatus, AgentType
from server.domain.api_keys import Plan
from server.domain.attestations import ClaimKind
from server.domain.changes import ChangeEvent
from server.domain.events import EventType
from server.domain.names import api_key_name, capability_name
from server.domain.wire import status_to_proto, timestamp, type_to_proto

_KINDS = {
    ClaimKind.CAPABILITY: pb.ATTESTATION_KIND_CAPABILITY,
    ClaimKind.IDENTITY: pb.ATTESTATION_KIND_IDENTITY,
    ClaimKind.BEHAVIOUR: pb.ATTESTATION_KIND_BEHAVIOUR,
}


E = TypeVar("E")


def _enum(convert: Callable[[Any], E], parse: Callable[[str], Any], value: Any, zero: E) -> E:
    """A stored enum string as the proto value; the zero value when absent or unknown."""
    try:
        return convert(parse(value))
    except (KeyError, ValueError, TypeError):
        return zero


def _kind(data: Mapping[str, Any]) -> pb.AttestationKind:
    return _enum(_KINDS.__getitem__, ClaimKind, data.get("kind"), pb.ATTESTATION_KIND_UNSPECIFIED)


def _status(value: Any) -> pb.AgentStatus:
    return _enum(status_to_proto, AgentStatus, value, pb.AGENT_STATUS_UNSPECIFIED)


def _registered(event: ChangeEvent) -> pb.AgentRegistered:
    data = event.data
    agent_type = _enum(type_to_proto, AgentType, data.get("type"), pb.AGENT_TYPE_UNSPECIFIED)
    return pb.AgentRegistered(
        display_name=data.get("display_name", ""),
        type=agent_type,
        capabilities=data.get("capabilities", []),
    )


def _updated(event: ChangeEvent) -> pb.AgentUpdated:
    data = event.data
    added, removed = data.get("capability_added"), data.get("capability_removed")
    paths = ["capabilities"] if added or removed else list(data.get("fields", []))
    return pb.AgentUpdated(
        update_mask=field_mask_pb2.FieldMask(paths=paths),
        capability_added=capability_name(added) if added else "",
        capability_removed=capability_name(removed) if removed else "",
    )


def _status_changed(event: ChangeEvent) -> pb.AgentStatusChanged:
    data = event.data
    payload = pb.AgentStatusChanged(
        status=_status(data.get("status")), previous_status=_status(data.get("previous_status"))
    )
    if seen := data.get("last_seen_time"):  # jsonb keeps a timestamptz as ISO 8601 text
        payload.last_seen_time.CopyFrom(timestamp(datetime.fromisoformat(seen)))
    return payload


def _received(event: ChangeEvent) -> pb.AttestationReceived:
    data = event.data
    return pb.AttestationReceived(
        attestation=data.get("attestation", ""),
        attester=data.get("attester", ""),
        kind=_kind(data),
        replaced=data.get("replaced", ""),
    )


def _revoked(event: ChangeEvent) -> pb.AttestationRevoked:
    data = event.data
    return pb.AttestationRevoked(
        attestation=data.get("attestation", ""), attester=data.get("attester", ""), kind=_kind(data)
    )


def _plan_changed(event: ChangeEvent) -> pb.ApiKeyPlanChanged:
    data = event.data
    key_id = data.get("api_key", "")
    plan = _enum(plan_to_proto, Plan, data.get("plan"), auth_service_pb2.API_KEY_PLAN_UNSPECIFIED)
    return pb.ApiKeyPlanChanged(
        api_key=api_key_name(event.agent_id, key_id) if key_id else "",
        plan=plan,
        operator=data.get("operator", ""),
        reason=data.get("reason", ""),
    )


def _moderation(message: type[Message]) -> Callable[[ChangeEvent], Message]:
    def convert(event: ChangeEvent) -> Message:
        return message(operator=event.data.get("operator", ""), reason=event.data.get("reason", ""))

    return convert


def _same_keys(message: type[Message], *keys: str) -> Callable[[ChangeEvent], Message]:
    """Payloads whose fields are the stored keys, as stored."""

    def convert(event: ChangeEvent) -> Message:
        return message(**{key: event.data[key] for key in keys if key in event.data})

    return convert


# Each stored type: the `Event.payload` field it fills and how.
PAYLOADS: dict[EventType, tuple[str, Callable[[ChangeEvent], Message]]] = {
    EventType.AGENT_REGISTERED: ("agent_registered", _registered),
    EventType.AGENT_UPDATED: ("agent_updated", _updated),
    EventType.AGENT_DELETED: ("agent_deleted", lambda _: pb.AgentDeleted()),
    EventType.AGENT_STATUS_CHANGED: ("agent_status_changed", _status_changed),
    EventType.ATTESTATION_RECEIVED: ("attestation_received", _received),
    EventType.ATTESTATION_REVOKED: ("attestation_revoked", _revoked),
    EventType.CAPABILITY_VERIFIED: (
        "capability_verified",
        _same_keys(pb.CapabilityVerified, "capability", "weighted_support"),
    ),
    EventType.WEBHOOK_DISABLED: (
        "webhook_disabled",
        _same_keys(pb.WebhookDisabled, "webhook", "failures"),
    ),
    EventType.AGENT_VERIFIED: ("agent_verified", _moderation(pb.AgentVerified)),
    EventType.AGENT_UNVERIFIED: ("agent_unverified", _moderation(pb.AgentUnverified)),
    EventType.AGENT_SUSPENDED: ("agent_suspended", _moderation(pb.AgentSuspended)),
    EventType.AGENT_TAKEN_DOWN: ("agent_taken_down", _moderation(pb.AgentTakenDown)),
    EventType.AGENT_REINSTATED: ("agent_reinstated", _moderation(pb.AgentReinstated)),
    EventType.API_KEY_PLAN_CHANGED: ("api_key_plan_changed", _plan_changed),
    EventType.AGENT_DOMAIN_VERIFIED: (
        "agent_domain_verified",
        _same_keys(pb.AgentDomainVerified, "domain"),
    ),
    EventType.AGENT_DOMAIN_LOST: (
        "agent_domain_lost",
        _same_keys(pb.AgentDomainLost, "domain", "error"),
    ),
}


def fill_payload(proto: pb.Event, event: ChangeEvent) -> None:
    """Set the payload of `proto` for the stored event (none for KEEPALIVE or an unknown type)."""
    try:
        field, convert = PAYLOADS[EventType(event.event_type)]
    except (ValueError, KeyError):
        return
    getattr(proto, field).CopyFrom(convert(event))
