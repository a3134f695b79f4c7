"""Webhook delivery: the fan-out cursor and the per-webhook head-of-line index.

Revision ID: 0002_webhooks
Revises: 0001_initial
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_webhooks"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_cursors",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_cursors")),
    )
    # The sender picks each webhook's oldest pending delivery (ordered per webhook).
    op.create_index(
        "ix_webhook_deliveries_pending_webhook_id_event_id",
        "webhook_deliveries",
        ["webhook_id", "event_id"],
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_webhook_deliveries_pending_webhook_id_event_id", table_name="webhook_deliveries"
    )
    op.drop_table("feed_cursors")
