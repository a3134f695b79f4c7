"""`python -m scheduler.backfill_embeddings`: embed every agent that has no vector yet.

For rows that existed before semantic search, or after a model change (rows with
another model's vector count as missing). Walks agents by id in batches, one
transaction each, so it can be stopped and started again; the embedding job keeps
following new writes meanwhile, and a row both touch is written twice, identically.
"""

from __future__ import annotations

import argparse
import logging
import time

import uvloop

from db.engine import create_engine, session_factory
from db.repositories.embeddings import EmbeddingRepository
from db.uow import UnitOfWorkFactory
from scheduler.jobs.embeddings import vectors_of
from server.embeddings.model import Embedder, load_embedder
from server.observability import logs
from server.settings import load_settings

log = logging.getLogger("agentregistry.backfill")
BATCH = 256


async def backfill(uow: UnitOfWorkFactory, embedder: Embedder, *, batch: int = BATCH) -> int:
    """Agents embedded; catalog entries are the job's (it checks them on every run)."""
    after, done, started = "", 0, time.perf_counter()
    while True:
        async with uow() as unit:
            repository = EmbeddingRepository(unit.session)
            ids = await repository.agents_without(embedder.model_id, after, batch)
            if not ids:
                return done
            sources = await repository.agent_sources(ids, embedder.model_id)
            vectors = await vectors_of(embedder, sources)
            await repository.store_agents(embedder.model_id, sources, vectors)
            await unit.commit()
        after, done = ids[-1], done + len(sources)
        log.info("embedded %d agents (%.0f/s)", done, done / (time.perf_counter() - started))


async def _main(batch: int) -> None:
    settings = load_settings()
    if settings.database_url is None:
        raise SystemExit("set DATABASE_URL (the database to backfill)")
    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("the embedding model is unavailable (see the warning above)")
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        done = await backfill(UnitOfWorkFactory(session_factory(engine)), embedder, batch=batch)
    finally:
        await engine.dispose()
    log.info("backfill finished: %d agents embedded", done)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=BATCH, help="agents per transaction")
    args = parser.parse_args()
    logs.configure("INFO", "text")
    uvloop.run(_main(args.batch))


if __name__ == "__main__":
    main()
