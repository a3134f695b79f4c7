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


@dataclass(frozen=True)
class Outcome:
    job: str
    status: str  # "ok", "skipped" (another instance holds the lease) or "failed"
    duration_s: float
    figures: dict[str, Any]


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
    log.info(
        "job=%s status=%s duration_ms=%.1f %s",
        job.name,
        status,
        outcome.duration_s * 1000,
        " ".join(f"{k}={v}" for k, v in figures.items()),
    )
    return outcome
