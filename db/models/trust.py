"""What the trust job materialises so reputation reads never scan attestations.

Rows exist only for agents (and agent/capability pairs) that some active claim
touches; an agent without a row has no standing: the baseline score, a
component of one, seeded only if it is verified itself.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class AgentTrustRow(Base):
    __tablename__ = "agent_trust"

    agent_id: Mapped[str] = mapped_column(
        Text, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    behaviour_average: Mapped[float]
    behaviour_claims: Mapped[int] = mapped_column(Integer)
    distinct_attesters: Mapped[int] = mapped_column(Integer)
    component_size: Mapped[int] = mapped_column(Integer)
    component_seeded: Mapped[bool]
    reachable_from_seed: Mapped[bool]
    standing_score: Mapped[float] = mapped_column(server_default=text("0"))
    behaviour_score: Mapped[float] = mapped_column(server_default=text("50"))
    confidence: Mapped[float] = mapped_column(server_default=text("0"))
    attesters_with_standing: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    top_contributors: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    top_contributions: Mapped[list[float]] = mapped_column(
        ARRAY(Float), server_default=text("'{}'::float8[]")
    )
    rated: Mapped[bool] = mapped_column(server_default=text("false"))
    standing_groups: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    top_groups: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), server_default=text("'{}'::int4[]")
    )
    top_group_shares: Mapped[list[float]] = mapped_column(
        ARRAY(Float), server_default=text("'{}'::float8[]")
    )
    behaviour_raters: Mapped[list[str]] = mapped_column(
        ARRAY(Text), server_default=text("'{}'::text[]")
    )
    behaviour_rater_weights: Mapped[list[float]] = mapped_column(
        ARRAY(Float), server_default=text("'{}'::float8[]")
    )
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # A hash of everything above as last computed: the job rewrites a row when it differs.
    fingerprint: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class CapabilityTrustRow(Base):
    """Tallies of active capability claims per (subject, capability), offered or not."""

    __tablename__ = "capability_trust"

    agent_id: Mapped[str] = mapped_column(
        Text, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    capability_id: Mapped[str] = mapped_column(
        Text, ForeignKey("capabilities.id"), primary_key=True
    )
    positive_claims: Mapped[int] = mapped_column(Integer)
    negative_claims: Mapped[int] = mapped_column(Integer)
    weighted_support: Mapped[float]
    verified: Mapped[bool]
    supporting_groups: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class TrustKeyRow(Base):
    """The one secret seed groups are keyed by, made at migration time."""

    __tablename__ = "trust_keys"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    secret: Mapped[bytes] = mapped_column(LargeBinary)


class TrustRunRow(Base):
    """One row per completed recomputation (the newest is what reads report as compute time)."""

    __tablename__ = "trust_runs"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    agents: Mapped[int] = mapped_column(Integer)
    attestations: Mapped[int] = mapped_column(Integer)
    seeds: Mapped[int] = mapped_column(Integer)
    iterations: Mapped[int] = mapped_column(Integer)
