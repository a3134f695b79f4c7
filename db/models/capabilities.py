"""The capability catalog and the agent-offers-capability link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class CapabilityRow(Base):
    __tablename__ = "capabilities"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    synonyms: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    # Counter kept by the agent repository so listing the catalog never counts links.
    agent_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Filled by the capabilities_search_vector trigger (see migration 0001).
    search_vector: Mapped[str] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))

    __table_args__ = (Index(None, "search_vector", postgresql_using="gin"),)


class AgentCapabilityRow(Base):
    __tablename__ = "agent_capabilities"

    agent_id: Mapped[str] = mapped_column(
        Text, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    capability_id: Mapped[str] = mapped_column(
        Text, ForeignKey("capabilities.id"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    verified: Mapped[bool] = mapped_column(server_default=text("false"))
    # Capability-level trust, computed by the trust job.
    trust: Mapped[float] = mapped_column(server_default=text("0"))

    __table_args__ = (
        Index(None, "capability_id", "agent_id"),
        Index(
            "ix_agent_capabilities_capability_id_trust",
            "capability_id",
            text("trust DESC"),
            "agent_id",
        ),
    )
