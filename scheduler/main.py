"""The scheduler process: every job on its interval, once across all instances."""

from __future__ import annotations

import asyncio
import logging
import signal

import uvloop
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import JOBS
from scheduler.runner import run_job
from server.observability import logs
from server.settings import Settings, load_settings

log = logging.getLogger("agentregistry.scheduler")


def build_scheduler(context: JobContext) -> AsyncIOScheduler:
    """coalesce + max_instances=1: a missed or overrunning run is never doubled locally;
    the advisory lease in run_job does the same across instances."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in JOBS:
        scheduler.add_job(
            run_job,
            "interval",
            seconds=job.interval_s(context.settings),
            args=(job, context),
            id=job.name,
            name=job.name,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
    return scheduler


async def serve(settings: Settings) -> None:
    if settings.database_url is None or settings.redis_url is None:
        raise SystemExit("the scheduler needs DATABASE_URL and REDIS_URL (make run sets them)")
    engine = create_engine(settings.database_url, pool_size=4)
    redis = Redis.from_url(settings.redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    scheduler = build_scheduler(context)
    scheduler.start()
    log.info("scheduler running %d jobs", len(JOBS))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    scheduler.shutdown(wait=False)
    await redis.aclose()
    await engine.dispose()


def main() -> None:
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
