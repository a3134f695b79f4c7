"""SQL of the embedding job and backfill: the texts to embed, and the vectors they give."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by, insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import (
    AgentCapabilityRow,
    AgentEmbeddingRow,
    AgentRow,
    CapabilityEmbeddingRow,
    CapabilityRow,
    EventRow,
)
from server.domain.events import EventType
from server.embeddings.source import agent_text, capability_text, source_hash

# Events after which an agent's text may have changed (deletions cascade).
EMBEDDED_EVENTS = (EventType.AGENT_REGISTERED, EventType.AGENT_UPDATED)


@dataclass(frozen=True, slots=True)
class Source:
    """A row to embed: its id, its text and that text's hash (server.embeddings.source)."""

    key: str
    text: str
    text_hash: str


class EmbeddingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def changed_agents(self, first: int, last: int) -> list[str]:
        """Agents with a registration or update event among ids first..last."""
        query = (
            select(EventRow.agent_id)
            .where(EventRow.id.between(first, last), EventRow.event_type.in_(EMBEDDED_EVENTS))
            .distinct()
        )
        return list((await self._session.scalars(query)).all())

    async def agents_without(self, model_id: str, after_id: str, limit: int) -> list[str]:
        """Agents (by id, after `after_id`) with no vector of this model: the backfill's work."""
        has = (
            select(AgentEmbeddingRow.agent_id)
            .where(AgentEmbeddingRow.agent_id == AgentRow.id)
            .where(AgentEmbeddingRow.model_id == model_id)
        )
        query = (
            select(AgentRow.id)
            .where(AgentRow.id > after_id, ~has.exists())
            .order_by(AgentRow.id)
            .limit(limit)
        )
        return list((await self._session.scalars(query)).all())

    async def agent_sources(self, agent_ids: Sequence[str], model_id: str) -> list[Source]:
        """The agents' texts whose stored vector is missing, of another model or stale."""
        names = (
            select(func.array_agg(aggregate_order_by(CapabilityRow.display_name, CapabilityRow.id)))
            .join(AgentCapabilityRow, AgentCapabilityRow.capability_id == CapabilityRow.id)
            .where(AgentCapabilityRow.agent_id == AgentRow.id)
            .correlate(AgentRow)
            .scalar_subquery()
        )
        query = (
            select(
                AgentRow.id,
                AgentRow.display_name,
                AgentRow.description,
                AgentRow.tags,
                names.label("capabilities"),
                AgentEmbeddingRow.source_hash,
            )
            .outerjoin(AgentEmbeddingRow, AgentEmbeddingRow.agent_id == AgentRow.id)
            .where(AgentRow.id.in_(list(agent_ids)))
        )
        sources = []
        for row in await self._session.execute(query):
            text = agent_text(row.display_name, row.description, row.tags, row.capabilities or [])
            digest = source_hash(model_id, text)
            if digest != row.source_hash:
                sources.append(Source(row.id, text, digest))
        return sources

    async def catalog_sources(self, model_id: str) -> list[Source]:
        """Catalog entries whose stored vector is missing or stale (a few dozen rows)."""
        query = select(
            CapabilityRow.id,
            CapabilityRow.display_name,
            CapabilityRow.description,
            CapabilityRow.synonyms,
            CapabilityEmbeddingRow.source_hash,
        ).outerjoin(
            CapabilityEmbeddingRow, CapabilityEmbeddingRow.capability_id == CapabilityRow.id
        )
        sources = []
        for row in await self._session.execute(query):
            text = capability_text(row.display_name, row.description, row.synonyms)
            digest = source_hash(model_id, text)
            if digest != row.source_hash:
                sources.append(Source(row.id, text, digest))
        return sources

    async def store_agents(
        self, model_id: str, sources: Sequence[Source], vectors: Sequence[Sequence[float]]
    ) -> None:
        await self._store(AgentEmbeddingRow, "agent_id", model_id, sources, vectors)

    async def store_capabilities(
        self, model_id: str, sources: Sequence[Source], vectors: Sequence[Sequence[float]]
    ) -> None:
        await self._store(CapabilityEmbeddingRow, "capability_id", model_id, sources, vectors)

    async def _store(
        self,
        table: type[AgentEmbeddingRow] | type[CapabilityEmbeddingRow],
        key: str,
        model_id: str,
        sources: Sequence[Source],
        vectors: Sequence[Sequence[float]],
    ) -> None:
        """Upsert. An agent deleted since its text was read fails the batch (foreign key): the
        job then retries it on its next run, when the agent is no longer among the sources."""
        if not sources:
            return
        values = [
            {key: s.key, "model_id": model_id, "embedding": list(v), "source_hash": s.text_hash}
            for s, v in zip(sources, vectors, strict=True)
        ]
        statement = insert(table).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=[key],
            set_={
                "model_id": statement.excluded.model_id,
                "embedding": statement.excluded.embedding,
                "source_hash": statement.excluded.source_hash,
                "updated_at": func.now(),
            },
        )
        await self._session.execute(statement)
