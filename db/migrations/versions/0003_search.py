"""Counters of agents per type and status, kept by statement-level triggers.

Revision ID: 0003_search
Revises: 0002_webhooks
Create Date: 2026-11-26

GetRegistryStats reads these few rows instead of counting 100k agents. The
triggers are per statement with transition tables, so a bulk presence flush of
10,000 rows costs one grouped upsert, not 10,000. Each statement adds to one
random slot of COUNTER_SLOTS per key, so concurrent writers seldom queue on the
same row; keys are upserted in sorted order so two statements cannot deadlock.
An UPDATE trigger cannot name columns when it uses transition tables, so it
fires on every UPDATE of agents and nets out rows whose type and status did not
change (the HAVING clause skips the write entirely).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_search"
down_revision: str | None = "0002_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTER_SLOTS = 8

TRIGGERS = f"""
CREATE FUNCTION agent_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO agent_counts AS c (agent_type, status, slot, n)
        SELECT agent_type, status, floor(random() * {COUNTER_SLOTS})::smallint, count(*)
        FROM new_rows GROUP BY agent_type, status ORDER BY agent_type, status
        ON CONFLICT (agent_type, status, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO agent_counts AS c (agent_type, status, slot, n)
        SELECT agent_type, status, floor(random() * {COUNTER_SLOTS})::smallint, -count(*)
        FROM old_rows GROUP BY agent_type, status ORDER BY agent_type, status
        ON CONFLICT (agent_type, status, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO agent_counts AS c (agent_type, status, slot, n)
        SELECT agent_type, status, floor(random() * {COUNTER_SLOTS})::smallint, sum(delta)
        FROM (
            SELECT agent_type, status, 1 AS delta FROM new_rows
            UNION ALL
            SELECT agent_type, status, -1 FROM old_rows
        ) changes
        GROUP BY agent_type, status HAVING sum(delta) <> 0 ORDER BY agent_type, status
        ON CONFLICT (agent_type, status, slot) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER agent_counts_insert AFTER INSERT ON agents
REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION agent_counts_apply();

CREATE TRIGGER agent_counts_delete AFTER DELETE ON agents
REFERENCING OLD TABLE AS old_rows
FOR EACH STATEMENT EXECUTE FUNCTION agent_counts_apply();

CREATE TRIGGER agent_counts_update AFTER UPDATE ON agents
REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION agent_counts_apply();
"""


def upgrade() -> None:
    op.create_table(
        "agent_counts",
        sa.Column("agent_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("agent_type", "status", "slot", name=op.f("pk_agent_counts")),
    )
    # Lock out writers while the counters are filled, so none is counted twice or missed.
    op.execute("LOCK TABLE agents IN SHARE MODE")
    op.execute(
        "INSERT INTO agent_counts (agent_type, status, slot, n)"
        " SELECT agent_type, status, 0, count(*) FROM agents GROUP BY agent_type, status"
    )
    op.execute(TRIGGERS)


def downgrade() -> None:
    for name in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER agent_counts_{name} ON agents")
    op.execute("DROP FUNCTION agent_counts_apply()")
    op.drop_table("agent_counts")
