"""Trust model: operator verification alone seeds trust; explanations per agent.

Revision ID: 0009_trust_identity_not_seed
Revises: 0008_event_ids_after_xid
Create Date: 2026-12-07

A proven domain no longer makes an agent a seed, seeds are grouped by a keyed hash
(the key is made here, once per database, from Postgres' strong random source), and
agent_trust gains what GetReputation explains: whether the agent is rated at all, the
seed groups its standing comes from, its heaviest behaviour raters and flags. Stored
scores keep their old values until the first run after the upgrade: every stored row
has fingerprint 0, which no computed row has, so that run rewrites all of them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009_trust_identity_not_seed"
down_revision: str | None = "0008_event_ids_after_xid"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    text_array = postgresql.ARRAY(sa.Text())
    int_array = postgresql.ARRAY(sa.Integer())
    float_array = postgresql.ARRAY(sa.Float())
    for name, kind, default in (
        ("rated", sa.Boolean(), "false"),
        ("standing_groups", sa.Integer(), "0"),
        ("top_groups", int_array, "'{}'::int4[]"),
        ("top_group_shares", float_array, "'{}'::float8[]"),
        ("behaviour_raters", text_array, "'{}'::text[]"),
        ("behaviour_rater_weights", float_array, "'{}'::float8[]"),
        ("flags", text_array, "'{}'::text[]"),
        ("fingerprint", sa.BigInteger(), "0"),
    ):
        op.add_column(
            "agent_trust",
            sa.Column(name, kind, server_default=sa.text(default), nullable=False),
        )
    op.add_column(
        "capability_trust",
        sa.Column("supporting_groups", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.create_table(
        "trust_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("secret", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id = 1", name="one_row"),
    )
    op.execute(
        "INSERT INTO trust_keys (id, secret) VALUES (1, decode(replace("
        "gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))"
    )


def downgrade() -> None:
    op.drop_table("trust_keys")
    op.drop_column("capability_trust", "supporting_groups")
    for name in (
        "fingerprint",
        "flags",
        "behaviour_rater_weights",
        "behaviour_raters",
        "top_group_shares",
        "top_groups",
        "standing_groups",
        "rated",
    ):
        op.drop_column("agent_trust", name)
