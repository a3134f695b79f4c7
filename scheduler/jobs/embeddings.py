"""Embedding: agents' vectors follow their text, off the request path.

The job follows the outbox with a durable cursor (feed_cursors) over *settled*
event ids (db/repositories/outbox_reader.py), like the webhook fan-out: the agents
registered or updated in a range are re-read, those whose text hash changed are
embedded in batches, and the vectors are written in the same transaction that
moves the cursor, so a crash re-embeds a batch rather than skipping it. The
catalog's few dozen entries are checked on every run (by hash, so it is free
when nothing changed).

Without the model (package missing, wrong file) the job does nothing and leaves
the cursor where it is: once a verified model is installed it catches up, and
search meanwhile ranks by text alone.
"""

from __future__ import annotations

import asyncio
from typing import Any

from db.repositories.embeddings import EmbeddingRepository, Source
from db.repositories.outbox_reader import OutboxReader
from db.repositories.webhook_delivery import WebhookDeliveryRepository
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from server.cache.aside import CacheAside
from server.cache.keys import AGENTS_GENERATION
from server.embeddings.model import Embedder, load_embedder

CURSOR = "embeddings.agents"
EVENT_BATCH = 2000
# Texts per onnxruntime run: big enough to amortise the call, small enough that padding
# to the longest text in the batch wastes little.
EMBED_BATCH = 32
# The model's session (~150 MB) is built at the first text to embed and dropped again
# once it has been unused this long: an idle scheduler does not hold it.
RELEASE_AFTER_S = 60.0


async def vectors_of(embedder: Embedder, sources: list[Source]) -> list[list[float]]:
    """Embedded in a worker thread, EMBED_BATCH texts at a time: the loop stays free."""
    vectors: list[list[float]] = []
    for i in range(0, len(sources), EMBED_BATCH):
        texts = [s.text for s in sources[i : i + EMBED_BATCH]]
        batch = await asyncio.to_thread(embedder.embed, texts)
        vectors += [[float(x) for x in row] for row in batch]
    return vectors


async def embed_catalog(uow_factory: UnitOfWorkFactory, embedder: Embedder) -> int:
    async with uow_factory() as uow:
        repository = EmbeddingRepository(uow.session)
        sources = await repository.catalog_sources(embedder.model_id)
        if sources:
            await repository.store_capabilities(
                embedder.model_id, sources, await vectors_of(embedder, sources)
            )
            await uow.commit()
    return len(sources)


async def embed_changed_agents(
    context: JobContext, embedder: Embedder, *, max_batches: int = 10
) -> tuple[int, int]:
    """(events read, agents embedded) for settled events past the cursor."""
    events = embedded = 0
    for _ in range(max_batches):
        async with context.uow() as uow:
            cursors = WebhookDeliveryRepository(uow.session)
            position = await cursors.cursor(CURSOR)
            # Settle before writing: the wait must not run in a transaction holding an xid.
            first, last = await OutboxReader(uow.session).settled_after(position, EVENT_BATCH)
            if last == position:
                break
            repository = EmbeddingRepository(uow.session)
            changed = await repository.changed_agents(first, last)
            sources = await repository.agent_sources(changed, embedder.model_id)
            await repository.store_agents(
                embedder.model_id, sources, await vectors_of(embedder, sources)
            )
            await cursors.move_cursor(CURSOR, last)
            await uow.commit()
        events += last - position
        embedded += len(sources)
    return events, embedded


async def embeddings(context: JobContext) -> dict[str, Any]:
    embedder = load_embedder()
    if embedder is None:
        return {"model": "unavailable"}
    catalog = await embed_catalog(context.uow, embedder)
    events, embedded = await embed_changed_agents(context, embedder)
    if embedder.loaded and embedder.unused_s() >= RELEASE_AFTER_S:
        await asyncio.to_thread(embedder.release)
    if embedded or catalog:
        # Cached search and find pages were ranked without these vectors.
        await CacheAside(context.redis).bump(AGENTS_GENERATION)
    return {"events": events, "agents_embedded": embedded, "catalog_embedded": catalog}
