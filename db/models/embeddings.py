"""Sentence embeddings of agents and catalog entries, kept apart from their rows.

A separate table keeps agent rows (read on every GetAgent and search page) small:
384 floats are 1.5 kB. `model_id` says which model made a vector (vectors of two
models are not comparable), `source_hash` which text, so the embedding job skips
rows whose text has not changed.
"""

from __future__ import annotations

from datetime import datetime

from pgvector.sqlalchemy import Vector
from sqlalchemy import ForeignKey, Index, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base

DIMENSION = 384


class AgentEmbeddingRow(Base):
    __tablename__ = "agent_embeddings"

    agent_id: Mapped[str] = mapped_column(
        Text, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list[float]] = mapped_column(Vector(DIMENSION))
    source_hash: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())

    __table_args__ = (
        Index(
            "ix_agent_embeddings_embedding_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )


class CapabilityEmbeddingRow(Base):
    __tablename__ = "capability_embeddings"

    capability_id: Mapped[str] = mapped_column(
        Text, ForeignKey("capabilities.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[str] = mapped_column(Text)
    embedding: Mapped[list[float]] = mapped_column(Vector(DIMENSION))
    source_hash: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
