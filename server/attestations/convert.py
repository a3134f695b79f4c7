"""Pure conversions between attestation protos and domain objects."""

from __future__ import annotations

from datetime import UTC, datetime

from agentregistry.v1 import attestation_service_pb2, resources_pb2

from server.attestations.canonical import truncate_seconds
from server.domain.attestations import (
    Attestation,
    AttestationDraft,
    AttestationState,
    Claim,
    ClaimKind,
)
from server.domain.errors import InvalidArgument
from server.domain.names import agent_name, capability_name, parse_agent_name, parse_capability_name
from server.domain.wire import timestamp

_STATE_TO_PROTO = {
    AttestationState.ACTIVE: resources_pb2.Attestation.STATE_ACTIVE,
    AttestationState.REPLACED: resources_pb2.Attestation.STATE_REPLACED,
    AttestationState.REVOKED: resources_pb2.Attestation.STATE_REVOKED,
    AttestationState.EXPIRED: resources_pb2.Attestation.STATE_EXPIRED,
}
PREFIX = "attestations/"


def attestation_name(attestation_id: str) -> str:
    return PREFIX + attestation_id


def parse_attestation_name(name: str, field: str) -> str:
    attestation_id = name.removeprefix(PREFIX)
    if not name.startswith(PREFIX) or not attestation_id.startswith("at_"):
        raise InvalidArgument.field(field, "must be attestations/{attestation_id}")
    return attestation_id


def claim_from_proto(attestation: resources_pb2.Attestation) -> Claim:
    which = attestation.WhichOneof("claim")
    if which == "capability":
        return Claim(
            ClaimKind.CAPABILITY,
            capability_id=parse_capability_name(
                attestation.capability.capability, "attestation.capability.capability"
            ),
            capability_value=attestation.capability.value,
        )
    if which == "identity":
        return Claim(ClaimKind.IDENTITY, identity=attestation.identity.value)
    if which == "behaviour":
        return Claim(ClaimKind.BEHAVIOUR, behaviour_score=attestation.behaviour.score)
    raise InvalidArgument.field(
        "attestation.claim", "set exactly one of capability, identity, behaviour"
    )


def draft_from_proto(attestation: resources_pb2.Attestation) -> AttestationDraft:
    if not attestation.HasField("issue_time"):
        raise InvalidArgument.field("attestation.issue_time", "is required")
    expires_at = (
        truncate_seconds(attestation.expire_time.ToDatetime(UTC))
        if attestation.HasField("expire_time")
        else None
    )
    return AttestationDraft(
        subject_id=parse_agent_name(attestation.subject, "attestation.subject"),
        claim=claim_from_proto(attestation),
        issued_at=truncate_seconds(attestation.issue_time.ToDatetime(UTC)),
        expires_at=expires_at,
        signature=attestation.signature,
    )


def attestation_to_proto(attestation: Attestation, now: datetime) -> resources_pb2.Attestation:
    claim = attestation.claim
    message = resources_pb2.Attestation(
        name=attestation_name(attestation.attestation_id),
        attester=agent_name(attestation.attester_id),
        subject=agent_name(attestation.subject_id),
        issue_time=timestamp(attestation.issued_at),
        signature=attestation.signature,
        state=_STATE_TO_PROTO[attestation.state_at(now)],
        create_time=timestamp(attestation.created_at),
    )
    if claim.kind is ClaimKind.CAPABILITY and claim.capability_id is not None:
        message.capability.capability = capability_name(claim.capability_id)
        message.capability.value = bool(claim.capability_value)
    elif claim.kind is ClaimKind.IDENTITY:
        message.identity.value = claim.identity or ""
    else:
        message.behaviour.score = claim.behaviour_score or 0
    if attestation.expires_at is not None:
        message.expire_time.CopyFrom(timestamp(attestation.expires_at))
    ended_at = attestation.ended_at
    if ended_at is None and message.state == resources_pb2.Attestation.STATE_EXPIRED:
        ended_at = attestation.expires_at
    if ended_at is not None:
        message.end_time.CopyFrom(timestamp(ended_at))
    return message


def list_response(
    attestations: list[Attestation], token: str, now: datetime
) -> attestation_service_pb2.ListAttestationsResponse:
    return attestation_service_pb2.ListAttestationsResponse(
        attestations=[attestation_to_proto(a, now) for a in attestations],
        next_page_token=token,
    )
