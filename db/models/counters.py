"""Maintained counters, so statistics never count agents per request."""

from __future__ import annotations

from sqlalchemy import BigInteger, SmallInteger, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base

# Writers add to one of this many rows per (type, status), picked at random per
# statement, so concurrent registrations rarely wait on the same counter row.
COUNTER_SLOTS = 8


class AgentCountRow(Base):
    """Agents per (type, status), split over slots; readers sum the slots.

    Kept by statement-level triggers on agents (migration 0003_search), which
    aggregate a whole bulk update (a presence flush) into one upsert per key.
    """

    __tablename__ = "agent_counts"

    agent_type: Mapped[str] = mapped_column(Text, primary_key=True)
    status: Mapped[str] = mapped_column(Text, primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
