"""Materialised trust standing: per-agent and per-capability explanations, run log.

Revision ID: 0004_trust
Revises: 0003_search
Create Date: 2026-11-27

The trust job writes these tables so GetReputation reads two small rows
instead of aggregating attestations per request.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_trust"
down_revision: str | None = "0003_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agent_trust",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("behaviour_average", sa.Float(), nullable=False),
        sa.Column("behaviour_claims", sa.Integer(), nullable=False),
        sa.Column("distinct_attesters", sa.Integer(), nullable=False),
        sa.Column("component_size", sa.Integer(), nullable=False),
        sa.Column("component_seeded", sa.Boolean(), nullable=False),
        sa.Column("reachable_from_seed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_trust_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_trust")),
    )
    op.create_table(
        "capability_trust",
        sa.Column("agent_id", sa.Text(), nullable=False),
        sa.Column("capability_id", sa.Text(), nullable=False),
        sa.Column("positive_claims", sa.Integer(), nullable=False),
        sa.Column("negative_claims", sa.Integer(), nullable=False),
        sa.Column("weighted_support", sa.Float(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_capability_trust_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["capability_id"],
            ["capabilities.id"],
            name=op.f("fk_capability_trust_capability_id_capabilities"),
        ),
        sa.PrimaryKeyConstraint("agent_id", "capability_id", name=op.f("pk_capability_trust")),
    )
    op.create_table(
        "trust_runs",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agents", sa.Integer(), nullable=False),
        sa.Column("attestations", sa.Integer(), nullable=False),
        sa.Column("seeds", sa.Integer(), nullable=False),
        sa.Column("iterations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trust_runs")),
    )


def downgrade() -> None:
    op.drop_table("trust_runs")
    op.drop_table("capability_trust")
    op.drop_table("agent_trust")
