"""The scheduler process: every job on its interval, once across all instances.

Each job runs in a loop of its own, so a run is never doubled locally and a slow
one delays only its own next run; the advisory lease in run_job keeps a job to one
instance across processes. Jobs that follow the outbox (scheduler/jobs/__init__.py)
wait on a LISTEN connection (db/outbox_signal.py) as well as their interval: a
commit that wrote events runs them at once, and each idle run doubles the wait up
to IDLE_MAX_S, so an idle registry's scheduler wakes a few times a minute, not
several times a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import uvloop
from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.outbox_signal import OutboxListener
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import IDLE_MAX_S, JOBS, Job
from scheduler.runner import run_job
from server.observability import logs
from server.settings import Settings, load_settings
from server.tasks import cancel_and_wait

log = logging.getLogger("agentregistry.scheduler")

# Without a LISTEN connection (Postgres down), how soon it tries again.
_LISTEN_RETRY_S = 1.0


def next_wait_s(job: Job, settings: Settings, waited_s: float, idle: bool) -> float:
    """A job's next wait: its interval, or for an idle outbox job twice the last (capped)."""
    interval = job.interval_s(settings)
    if not (job.follows_outbox and idle):
        return interval
    return min(max(waited_s, interval) * 2, max(interval, IDLE_MAX_S))


async def pace(job: Job, context: JobContext, wake: asyncio.Event | None) -> None:
    """Run `job` forever: after its wait, or as soon as `wake` is set."""
    wait_s = job.interval_s(context.settings)
    while True:
        if wake is None:
            await asyncio.sleep(wait_s)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait_s)
            wake.clear()  # a commit during the run below sets it again: no wake is lost
        outcome = await run_job(job, context)
        wait_s = next_wait_s(job, context.settings, wait_s, outcome.idle)


async def relay(listener: OutboxListener, wakes: list[asyncio.Event]) -> None:
    """Each commit that wrote events wakes every job that follows the outbox (at start
    each job runs after its interval anyway: listening begins quietly)."""
    await listener.listen()
    while True:
        if await listener.wait(IDLE_MAX_S):
            for wake in wakes:
                wake.set()


async def serve(settings: Settings) -> None:
    if settings.database_url is None or settings.redis_url is None:
        raise SystemExit("the scheduler needs DATABASE_URL and REDIS_URL (make run sets them)")
    engine = create_engine(settings.database_url, pool_size=4)
    redis = Redis.from_url(settings.redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    listener = OutboxListener(settings.database_url, retry_s=_LISTEN_RETRY_S)
    wakes = {job.name: asyncio.Event() for job in JOBS if job.follows_outbox}
    tasks = [
        asyncio.create_task(pace(job, context, wakes.get(job.name)), name=f"job-{job.name}")
        for job in JOBS
    ]
    tasks.append(asyncio.create_task(relay(listener, list(wakes.values())), name="outbox-wake"))
    log.info("scheduler running %d jobs", len(JOBS))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for task in tasks:
        await cancel_and_wait(task)
    await listener.close()
    await redis.aclose()
    await engine.dispose()


def main() -> None:
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
