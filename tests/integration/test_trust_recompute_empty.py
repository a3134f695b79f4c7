"""A fresh registry (no agents yet) recomputes trust without failing every tick."""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis

from db.embedded import create_database, drop_database
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import JOBS
from scheduler.runner import run_job
from server.settings import Settings


async def test_trust_recompute_on_an_empty_registry_succeeds(
    postgres_server_url: str, backing: Any
) -> None:
    name = f"empty_{uuid.uuid4().hex[:12]}"
    database_url = create_database(postgres_server_url, name)
    engine = create_engine(database_url, pool_size=2)
    redis = Redis.from_url(backing.redis_url)
    try:
        upgrade(database_url)
        settings = Settings(database_url=database_url)
        context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
        job = next(job for job in JOBS if job.name == "trust_recompute")
        outcome = await run_job(job, context)  # the first run is always due
        assert outcome.status == "ok", outcome
        assert outcome.figures["agents"] == 0
    finally:
        await redis.aclose()
        await engine.dispose()
        drop_database(postgres_server_url, name)
