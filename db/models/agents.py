"""The `agents` table: one row per registered agent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, LargeBinary, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base

AGENT_TYPES = ("assistant", "autonomous", "tool", "orchestrator", "service")
AGENT_STATUSES = ("online", "offline", "busy", "maintenance")
AGENT_STATES = ("active", "suspended", "taken_down")


def in_list(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that pins a text column to a closed set of values."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class AgentRow(Base):
    __tablename__ = "agents"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, server_default=text("''"))
    agent_type: Mapped[str] = mapped_column(Text)
    endpoint_uri: Mapped[str] = mapped_column(Text, server_default=text("''"))
    public_key: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    protocols: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    metadata_: Mapped[dict[str, Any]] = mapped_column(
        "metadata", JSONB, server_default=text("'{}'::jsonb")
    )
    # Space-joined display names of the offered capabilities; kept by the repository.
    capability_text: Mapped[str] = mapped_column(Text, server_default=text("''"))
    status: Mapped[str] = mapped_column(Text, server_default=text("'offline'"))
    last_seen_at: Mapped[datetime | None]
    trust_score: Mapped[float] = mapped_column(server_default=text("0"))
    trust_computed_at: Mapped[datetime | None]
    verified: Mapped[bool] = mapped_column(server_default=text("false"))
    # Set by operators: suspended and taken-down agents leave listings, search and trust.
    state: Mapped[str] = mapped_column(Text, server_default=text("'active'"))
    # Claimed by the agent; proven while domain_verified_at is set (rechecked by a job).
    domain: Mapped[str | None] = mapped_column(Text)
    domain_verified_at: Mapped[datetime | None]
    domain_checked_at: Mapped[datetime | None]
    key_version: Mapped[int] = mapped_column(server_default=text("1"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Filled by the agents_search_vector trigger (see migration 0001 for why a trigger).
    search_vector: Mapped[str] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))

    __table_args__ = (
        CheckConstraint(in_list("agent_type", AGENT_TYPES), name="agent_type"),
        CheckConstraint(in_list("status", AGENT_STATUSES), name="status"),
        CheckConstraint(in_list("state", AGENT_STATES), name="state"),
        Index(
            "ix_agents_display_name_trgm",
            func.lower(text("display_name")).label("display_name_lower"),
            postgresql_using="gin",
            postgresql_ops={"display_name_lower": "gin_trgm_ops"},
        ),
        Index(None, "status"),
        Index("ix_agents_created_at_id", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_agents_agent_type_created_at_id",
            "agent_type",
            text("created_at DESC"),
            text("id DESC"),
        ),
        Index(None, "tags", postgresql_using="gin"),
        Index(None, "protocols", postgresql_using="gin"),
        Index("ix_agents_trust_score_id", text("trust_score DESC"), "id"),
        Index(None, "search_vector", postgresql_using="gin"),
        Index(None, "verified", postgresql_where=text("verified")),
        Index("ix_agents_state", "state", postgresql_where=text("state <> 'active'")),
        Index(
            "ix_agents_domain_checked_at",
            "domain_checked_at",
            postgresql_where=text("domain_verified_at IS NOT NULL"),
        ),
    )
