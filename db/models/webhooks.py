"""Webhook subscriptions and their per-event delivery state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models.agents import in_list

WEBHOOK_STATES = ("enabled", "paused", "disabled")
DELIVERY_STATES = ("pending", "succeeded", "failed")


class WebhookRow(Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    agent_id: Mapped[str] = mapped_column(Text, ForeignKey("agents.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=text("'{}'::text[]"))
    state: Mapped[str] = mapped_column(Text, server_default=text("'enabled'"))
    secret: Mapped[str] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(in_list("state", WEBHOOK_STATES), name="state"),
        Index(
            "ix_webhooks_agent_id_created_at_id",
            "agent_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
    )


class WebhookDeliveryRow(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    webhook_id: Mapped[str] = mapped_column(Text, ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("events.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(Text, server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        CheckConstraint(in_list("state", DELIVERY_STATES), name="state"),
        UniqueConstraint("webhook_id", "event_id"),
        Index(
            "ix_webhook_deliveries_webhook_id_created_at_id",
            "webhook_id",
            text("created_at DESC"),
            text("id DESC"),
        ),
        # Lets event cleanup delete old events without scanning deliveries for the FK check.
        Index(None, "event_id"),
        Index(
            "ix_webhook_deliveries_pending_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        # Added by 0002_webhooks: the sender reads each webhook's oldest pending delivery.
        Index(
            "ix_webhook_deliveries_pending_webhook_id_event_id",
            "webhook_id",
            "event_id",
            postgresql_where=text("state = 'pending'"),
        ),
    )
