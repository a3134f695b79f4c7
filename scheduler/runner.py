"""Runs a job under its cluster-wide lease and reports how it went."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from db.locks import try_advisory_lock
from scheduler.context import JobContext
from scheduler.jobs import Job
from server.observability.metrics import JOB_DURATION, JOB_RUNS

log = logging.getLogger("agentregistry.scheduler")


# Figures that describe the state a job found, not work it did.
_STATE_FIGURES = frozenset({"present", "due", "backlog", "skipped"})


@dataclass(frozen=True)
class Outcome:
    job: str
    status: str  # "ok", "skipped" (another instance holds the lease) or "failed"
    duration_s: float
    figures: dict[str, Any]

    @property
    def idle(self) -> bool:
        """Ran, found nothing to do and nothing waiting (a webhook backlog keeps it busy)."""
        return self.status != "failed" and not self.did_work and not self.figures.get("backlog")

    @property
    def did_work(self) -> bool:
        """A count above zero other than a state figure (timings and flags do not count)."""
        return any(
            type(value) is int and value > 0
            for name, value in self.figures.items()
            if name not in _STATE_FIGURES
        )


async def run_job(job: Job, context: JobContext) -> Outcome:
    started = time.perf_counter()
    figures: dict[str, Any] = {}
    status = "skipped"
    try:
        async with try_advisory_lock(context.engine, f"agentregistry.job.{job.name}") as held:
            if held:
                figures = await job.run(context)
                status = "ok"
    except Exception:
        log.exception("job %s failed", job.name)
        status = "failed"
    outcome = Outcome(job.name, status, time.perf_counter() - started, figures)
    JOB_RUNS.labels(job.name, status).inc()
    if status != "skipped":
        JOB_DURATION.labels(job.name).observe(outcome.duration_s)
    # Idle runs every second or so would drown the log: they go to DEBUG.
    level = logging.INFO if status == "failed" or outcome.did_work else logging.DEBUG
    log.log(
        level,
        "job=%s status=%s duration_ms=%.1f %s",
        job.name,
        status,
        outcome.duration_s * 1000,
        " ".join(f"{k}={v}" for k, v in figures.items()),
    )
    return outcome
