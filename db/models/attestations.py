"""Signed claims one agent makes about another."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models.agents import in_list

ATTESTATION_KINDS = ("capability", "identity", "behaviour")
ATTESTATION_STATES = ("active", "replaced", "revoked", "expired")


class AttestationRow(Base):
    __tablename__ = "attestations"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    attester_id: Mapped[str] = mapped_column(Text, ForeignKey("agents.id", ondelete="CASCADE"))
    subject_id: Mapped[str] = mapped_column(Text, ForeignKey("agents.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    capability_id: Mapped[str | None] = mapped_column(Text, ForeignKey("capabilities.id"))
    capability_value: Mapped[bool | None]
    identity_value: Mapped[str | None] = mapped_column(Text)
    behaviour_score: Mapped[int | None] = mapped_column(SmallInteger)
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(Text, server_default=text("'active'"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ended_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(in_list("kind", ATTESTATION_KINDS), name="kind"),
        CheckConstraint(in_list("state", ATTESTATION_STATES), name="state"),
        CheckConstraint("behaviour_score BETWEEN 0 AND 100", name="behaviour_score"),
        Index(
            "ix_attestations_subject_id_created_at_id",
            "subject_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(
            "ix_attestations_attester_id_created_at_id",
            "attester_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(None, "created_at"),
        # One active claim per (attester, subject, kind, capability); a newer one replaces it.
        Index(
            "uq_attestations_active_claim",
            "attester_id",
            "subject_id",
            "kind",
            text("coalesce(capability_id, '')"),
            unique=True,
            postgresql_where=text("state = 'active'"),
        ),
        Index(
            "ix_attestations_active_expires_at",
            "expires_at",
            postgresql_where=text("state = 'active'"),
        ),
    )
