"""A2A cards as their agents published them, kept whole for export (server.cards)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Text, func
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class AgentCardRow(Base):
    """`card`: the card as received (json, not jsonb: key order and number spelling stay
    as the agent wrote them), within the card document limits (server.domain.documents)."""

    __tablename__ = "agent_cards"

    agent_id: Mapped[str] = mapped_column(
        Text, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
