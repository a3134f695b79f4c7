"""API keys for integrations; only a hash of the secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models.agents import in_list

API_KEY_PLANS = ("free", "pro", "enterprise")


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    # NULL only for operator keys, which act for no agent.
    agent_id: Mapped[str | None] = mapped_column(Text, ForeignKey("agents.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(Text)
    # sha256 of the secret: enough for a high-entropy random key, and indexable.
    key_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    key_prefix: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    plan: Mapped[str] = mapped_column(Text, server_default=text("'free'"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint(in_list("plan", API_KEY_PLANS), name="plan"),
        CheckConstraint("agent_id IS NOT NULL OR scopes = ARRAY['operator']", name="owner"),
        Index(
            "ix_api_keys_agent_id_created_at_id",
            "agent_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )
