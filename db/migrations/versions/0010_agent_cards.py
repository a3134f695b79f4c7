"""Agent cards kept whole: the card an agent published, as received.

Revision ID: 0010_agent_cards
Revises: 0009_trust_identity_not_seed
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_agent_cards"
down_revision: str | None = "0009_trust_identity_not_seed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_cards",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("card", postgresql.JSON(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_cards_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_cards")),
    )


def downgrade() -> None:
    op.drop_table("agent_cards")
