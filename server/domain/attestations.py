"""Attestations and reputation as the rest of the server sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ClaimKind(enum.StrEnum):
    CAPABILITY = "capability"
    IDENTITY = "identity"
    BEHAVIOUR = "behaviour"


class AttestationState(enum.StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Claim:
    """Exactly one of the value fields is meaningful, chosen by `kind`."""

    kind: ClaimKind
    capability_id: str | None = None
    capability_value: bool | None = None
    identity: str | None = None
    behaviour_score: int | None = None


@dataclass(frozen=True, slots=True)
class AttestationDraft:
    """What a client submits: the signed part plus its signature."""

    subject_id: str
    claim: Claim
    issued_at: datetime
    expires_at: datetime | None
    signature: bytes


@dataclass(frozen=True, slots=True)
class Attestation:
    attestation_id: str
    attester_id: str
    subject_id: str
    claim: Claim
    issued_at: datetime
    expires_at: datetime | None
    signature: bytes
    state: AttestationState
    created_at: datetime
    ended_at: datetime | None

    def state_at(self, now: datetime) -> AttestationState:
        """Reads treat an active claim past its expiry as expired before the job marks it."""
        if (
            self.state is AttestationState.ACTIVE
            and self.expires_at is not None
            and self.expires_at <= now
        ):
            return AttestationState.EXPIRED
        return self.state


@dataclass(frozen=True, slots=True)
class CapabilityStanding:
    capability_id: str
    positive_claims: int
    negative_claims: int
    weighted_support: float
    verified: bool
    supporting_groups: int = 0


@dataclass(frozen=True, slots=True)
class Reputation:
    agent_id: str
    trust_score: float
    behaviour_average: float
    behaviour_claims: int
    distinct_attesters: int
    component_size: int
    component_seeded: bool
    reachable_from_seed: bool
    capabilities: list[CapabilityStanding]
    computed_at: datetime | None
    standing_score: float = 0.0
    behaviour_score: float = 50.0
    confidence: float = 0.0
    attesters_with_standing: int = 0
    top_contributors: tuple[tuple[str, float], ...] = ()
    rated: bool = False
    standing_groups: int = 0
    standing_sources: tuple[tuple[int, float], ...] = ()  # (seed group, share)
    behaviour_raters: tuple[tuple[str, float], ...] = ()  # (agent id, weight)
    flags: tuple[str, ...] = ()  # ReputationFlag names without their prefix


@dataclass(frozen=True, slots=True)
class RankedAgentId:
    rank: int
    agent_id: str
