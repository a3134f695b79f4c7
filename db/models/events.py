"""Transactional outbox and change feed: written in the same transaction as the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class EventRow(Base):
    __tablename__ = "events"

    # events_next_id() (migration 0008): the writer's transaction id before the event id,
    # which db/repositories/outbox_reader.py relies on to settle gaps.
    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("events_next_id()")
    )
    event_type: Mapped[str] = mapped_column(Text)
    # No foreign key on purpose: a deletion event must outlive the agent it describes.
    agent_id: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (Index(None, "agent_id", "id"),)
