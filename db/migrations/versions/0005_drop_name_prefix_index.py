"""Drop the text_pattern_ops index on display names: typeahead answers prefixes from memory.

Revision ID: 0005_drop_name_prefix_index
Revises: 0004_trust
Create Date: 2026-11-26

Each server process keeps the display names sorted in memory (server.search.names)
and answers prefixes and one-edit typos there; Postgres still answers the trigram
fallback from ix_agents_display_name_trgm. An index nothing reads only costs writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0005_drop_name_prefix_index"
down_revision: str | None = "0004_trust"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_agents_display_name_prefix")


def downgrade() -> None:
    op.execute(
        "CREATE INDEX ix_agents_display_name_prefix"
        " ON agents (lower(display_name) text_pattern_ops)"
    )
