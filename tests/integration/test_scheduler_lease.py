"""Each job run happens once across scheduler instances, guarded by an advisory lease."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.locks import try_advisory_lock
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import Job
from scheduler.runner import run_job
from server.settings import Settings


async def test_lock_is_exclusive_and_released(engine: AsyncEngine) -> None:
    async with (
        try_advisory_lock(engine, "test.lease") as first,
        try_advisory_lock(engine, "test.lease") as second,
    ):
        assert (first, second) == (True, False)
    async with try_advisory_lock(engine, "test.lease") as again:
        assert again is True


async def test_concurrent_instances_run_a_job_once(
    engine: AsyncEngine, uow: UnitOfWorkFactory, backing: Any
) -> None:
    runs = 0
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_job(context: JobContext) -> dict[str, Any]:
        nonlocal runs
        runs += 1
        started.set()  # it runs, so it holds the lease
        await release.wait()
        return {"runs": runs}

    job = Job("test-once", slow_job, lambda s: 1.0)
    redis = Redis.from_url(backing.redis_url)
    context = JobContext(Settings(database_url=backing.database_url), engine, uow, redis)
    # Two "instances" start the same job at once; the second finds the lease held.
    first = asyncio.create_task(run_job(job, context))
    await asyncio.wait_for(started.wait(), timeout=30)
    second = await run_job(job, context)
    release.set()
    outcome = await first
    await redis.aclose()
    assert (outcome.status, second.status, runs) == ("ok", "skipped", 1)


async def test_failed_job_is_reported_and_releases_the_lease(
    engine: AsyncEngine, uow: UnitOfWorkFactory, backing: Any
) -> None:
    async def broken(context: JobContext) -> dict[str, Any]:
        raise RuntimeError("boom")

    job = Job("test-broken", broken, lambda s: 1.0)
    context = JobContext(Settings(database_url=backing.database_url), engine, uow, Redis())
    assert (await run_job(job, context)).status == "failed"
    async with try_advisory_lock(engine, "agentregistry.job.test-broken") as held:
        assert held
