"""Sentence embeddings of agents and catalog entries (pgvector), with an HNSW index.

Revision ID: 0007_embeddings
Revises: 0006_trust_verification
Create Date: 2026-12-02

Vectors are written off the request path by the embedding job (scheduler/jobs/
embeddings.py) and `python -m scheduler.backfill_embeddings`; search reads them.
The HNSW index (cosine) answers "nearest agents to this query" without a scan;
it is built empty here and grows with the rows (no long build at migration time).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector

revision: str = "0007_embeddings"
down_revision: str | None = "0006_trust_verification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DIMENSION = 384


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("model_id", sa.Text(), nullable=False),
        sa.Column("embedding", Vector(DIMENSION), nullable=False),
        sa.Column("source_hash", sa.Text(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "agent_embeddings",
        sa.Column("agent_id", sa.Text(), nullable=False),
        *_columns(),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_embeddings_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", name=op.f("pk_agent_embeddings")),
    )
    op.create_index(
        "ix_agent_embeddings_embedding_hnsw",
        "agent_embeddings",
        ["embedding"],
        postgresql_using="hnsw",
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.create_table(
        "capability_embeddings",
        sa.Column("capability_id", sa.Text(), nullable=False),
        *_columns(),
        sa.ForeignKeyConstraint(
            ["capability_id"],
            ["capabilities.id"],
            name=op.f("fk_capability_embeddings_capability_id_capabilities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("capability_id", name=op.f("pk_capability_embeddings")),
    )


def downgrade() -> None:
    op.drop_table("capability_embeddings")
    op.drop_index("ix_agent_embeddings_embedding_hnsw", table_name="agent_embeddings")
    op.drop_table("agent_embeddings")
    # The extension stays: other databases' objects (or a later revision) may use it.
