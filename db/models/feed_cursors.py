"""Durable positions of outbox consumers (the webhook fan-out), advanced with their work."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base


class FeedCursorRow(Base):
    """`position`: every event with a smaller or equal id has been consumed (or never committed)."""

    __tablename__ = "feed_cursors"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
