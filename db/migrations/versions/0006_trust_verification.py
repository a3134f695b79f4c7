"""Domain proofs, agent moderation state, operator API keys, explained trust components.

Revision ID: 0006_trust_verification
Revises: 0005_drop_name_prefix_index
Create Date: 2026-12-02

`agents.domain` is the domain an agent claims and `domain_verified_at` when it last
proved it (its public key listed at https://<domain>/.well-known/agentregistry.json);
the recheck job drops the proof when it stops holding. `agents.state` is what
operators set (active, suspended, taken_down); suspended and taken-down agents drop
out of listings, search and the trust graph. Operator keys are API keys owned by no
agent, so `api_keys.agent_id` becomes nullable. agent_trust gains the components
GetReputation explains a score with.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006_trust_verification"
down_revision: str | None = "0005_drop_name_prefix_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "agents", sa.Column("state", sa.Text(), server_default=sa.text("'active'"), nullable=False)
    )
    op.create_check_constraint("state", "agents", "state IN ('active', 'suspended', 'taken_down')")
    op.create_index(
        "ix_agents_state", "agents", ["state"], postgresql_where=sa.text("state <> 'active'")
    )
    op.add_column("agents", sa.Column("domain", sa.Text(), nullable=True))
    op.add_column("agents", sa.Column("domain_verified_at", sa.DateTime(timezone=True)))
    op.add_column("agents", sa.Column("domain_checked_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_agents_domain_checked_at",
        "agents",
        ["domain_checked_at"],
        postgresql_where=sa.text("domain_verified_at IS NOT NULL"),
    )
    op.alter_column("api_keys", "agent_id", existing_type=sa.Text(), nullable=True)
    op.create_check_constraint(
        "owner", "api_keys", "agent_id IS NOT NULL OR scopes = ARRAY['operator']"
    )
    columns: tuple[sa.Column[object], ...] = (
        sa.Column("standing_score", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column("behaviour_score", sa.Float(), server_default=sa.text("50"), nullable=False),
        sa.Column("confidence", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "attesters_with_standing", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "top_contributors",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "top_contributions",
            postgresql.ARRAY(sa.Float()),
            server_default=sa.text("'{}'::float8[]"),
            nullable=False,
        ),
    )
    for column in columns:
        op.add_column("agent_trust", column)


def downgrade() -> None:
    for name in (
        "top_contributions",
        "top_contributors",
        "attesters_with_standing",
        "confidence",
        "behaviour_score",
        "standing_score",
    ):
        op.drop_column("agent_trust", name)
    op.execute("DELETE FROM api_keys WHERE agent_id IS NULL")
    op.drop_constraint("ck_api_keys_owner", "api_keys", type_="check")
    op.alter_column("api_keys", "agent_id", existing_type=sa.Text(), nullable=False)
    op.drop_index("ix_agents_domain_checked_at", table_name="agents")
    for name in ("domain_checked_at", "domain_verified_at", "domain"):
        op.drop_column("agents", name)
    op.drop_index("ix_agents_state", table_name="agents")
    op.drop_constraint("ck_agents_state", "agents", type_="check")
    op.drop_column("agents", "state")
