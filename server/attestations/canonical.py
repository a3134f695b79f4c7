"""The canonical byte encoding an attester signs (documented field by field on
`Attestation` in resources.proto). Pure, so clients can reuse it and tests pin
it with a fixed vector: any change here breaks every signature ever made."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.attestations import Claim, ClaimKind
from server.domain.names import agent_name, capability_name

DOMAIN = "agentregistry.v1.Attestation"


def rfc3339_seconds(value: datetime) -> str:
    """`2026-01-02T03:04:05Z`: UTC, whole seconds, a literal Z."""
    if value.tzinfo is None:
        raise ValueError("timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def truncate_seconds(value: datetime) -> datetime:
    """What the server stores: the signed precision, so a stored claim re-encodes identically."""
    return value.astimezone(UTC).replace(microsecond=0)


def claim_value(claim: Claim) -> str:
    if claim.kind is ClaimKind.CAPABILITY:
        if claim.capability_id is None or claim.capability_value is None:
            raise ValueError("a capability claim needs a capability and a value")
        flag = "true" if claim.capability_value else "false"
        return f"{capability_name(claim.capability_id)}={flag}"
    if claim.kind is ClaimKind.IDENTITY:
        if claim.identity is None:
            raise ValueError("an identity claim needs a value")
        return claim.identity
    if claim.behaviour_score is None:
        raise ValueError("a behaviour claim needs a score")
    return str(int(claim.behaviour_score))


def encode(
    attester_id: str,
    subject_id: str,
    claim: Claim,
    issued_at: datetime,
    expires_at: datetime | None,
) -> bytes:
    lines = [
        DOMAIN,
        agent_name(attester_id),
        agent_name(subject_id),
        claim.kind.value,
        claim_value(claim),
        rfc3339_seconds(issued_at),
        "" if expires_at is None else rfc3339_seconds(expires_at),
    ]
    return "\n".join(lines).encode("utf-8")
