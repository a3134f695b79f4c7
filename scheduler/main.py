"""The scheduler process: every job on its interval, once across all instances.

APScheduler runs one job per task (coalesce, max_instances=1: a run is never doubled
locally; the advisory lease in run_job keeps a job to one instance across processes).
Each job's wait counts from the end of its run: a job is paused while it runs and
rescheduled when it ends. Jobs that follow the outbox (scheduler/jobs/__init__.py)
also run as soon as a commit wrote events (a NOTIFY on db/outbox_signal.py's LISTEN
connection moves their next run time to now), and each idle run doubles their wait up
to IDLE_MAX_S, so an idle registry's scheduler wakes a few times a minute, not
several times a second.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta

import uvloop
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from redis.asyncio import Redis

from db.engine import create_engine, session_factory
from db.outbox_signal import OutboxListener
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import IDLE_MAX_S, JOBS, Job
from scheduler.runner import Outcome, run_job
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


class Pacer:
    """The APScheduler jobs of `jobs`, each paced by what its last run found."""

    def __init__(self, context: JobContext, jobs: list[Job]) -> None:
        self._context = context
        self._jobs = {job.name: job for job in jobs}
        self._waits = {job.name: job.interval_s(context.settings) for job in jobs}
        self._running: set[str] = set()
        self._woken: set[str] = set()
        self._runs: set[asyncio.Task[Outcome]] = set()
        self._stopping = False
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        for job in jobs:
            # The first run comes after the interval, not at start (an interval trigger
            # starts one interval from now). No misfire grace limit: a run the loop was
            # too busy to start on time still runs, once (coalesce), rather than waiting
            # out another interval.
            self.scheduler.add_job(
                self._run,
                self._trigger(job.name),
                args=(job,),
                id=job.name,
                name=job.name,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=None,
            )
        # Runs after APScheduler counts the run as ended, so a run due at once is started.
        self.scheduler.add_listener(self._ran, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)

    def _trigger(self, name: str) -> IntervalTrigger:
        return IntervalTrigger(seconds=self._waits[name], timezone=UTC)

    async def _run(self, job: Job) -> Outcome | None:
        # Paused while it runs: neither its interval nor a wake can start it twice (which
        # APScheduler would refuse with a warning); _ran schedules its next run.
        self._running.add(job.name)
        self.scheduler.pause_job(job.name)
        run = asyncio.create_task(run_job(job, self._context))
        self._runs.add(run)
        try:
            return await asyncio.shield(run)
        except asyncio.CancelledError:
            return None  # stop() ends the run itself; not an error of the job
        finally:
            self._runs.discard(run)

    async def stop(self) -> None:
        """Ends the scheduler, cancelling the runs under way and waiting until they end."""
        self._stopping = True
        runs = list(self._runs)
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        self.scheduler.shutdown(wait=False)

    def _ran(self, event: JobExecutionEvent) -> None:
        name = event.job_id
        if self._stopping or name not in self._running:
            return
        self._running.discard(name)
        outcome = event.retval if isinstance(event.retval, Outcome) else None
        idle = outcome is not None and outcome.idle
        self._waits[name] = next_wait_s(
            self._jobs[name], self._context.settings, self._waits[name], idle
        )
        now = datetime.now(UTC)
        woken = name in self._woken
        self._woken.discard(name)
        due = now if woken else now + timedelta(seconds=self._waits[name])
        self.scheduler.modify_job(name, trigger=self._trigger(name), next_run_time=due)

    def wake(self) -> None:
        """A commit wrote events: the jobs that follow the outbox run now (one running
        now runs again as soon as it ends)."""
        now = datetime.now(UTC)
        for job in self._jobs.values():
            if not job.follows_outbox:
                continue
            if job.name in self._running:
                self._woken.add(job.name)
            else:
                self.scheduler.modify_job(job.name, next_run_time=now)


async def relay(listener: OutboxListener, pacer: Pacer) -> None:
    """Each commit that wrote events wakes the jobs that follow the outbox (at start each
    job runs after its interval anyway: listening begins quietly)."""
    await listener.listen()
    while True:
        if await listener.wait(IDLE_MAX_S):
            pacer.wake()


async def serve(settings: Settings) -> None:
    if settings.database_url is None or settings.redis_url is None:
        raise SystemExit("the scheduler needs DATABASE_URL and REDIS_URL (make run sets them)")
    engine = create_engine(settings.database_url, pool_size=4)
    redis = Redis.from_url(settings.redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    listener = OutboxListener(settings.database_url, retry_s=_LISTEN_RETRY_S)
    pacer = Pacer(context, JOBS)
    pacer.scheduler.start()
    wakes = asyncio.create_task(relay(listener, pacer), name="outbox-wake")
    log.info("scheduler running %d jobs", len(JOBS))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await cancel_and_wait(wakes)
    await pacer.stop()
    await listener.close()
    await redis.aclose()
    await engine.dispose()


def main() -> None:
    settings = load_settings()
    logs.configure(settings.log_level, settings.log_format)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
