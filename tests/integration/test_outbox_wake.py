"""Followers of the outbox wake at the commit that wrote events, not at a poll.

Both sides here poll once an hour: only the NOTIFY that the commit sends can bring the
event (or the job run) within the test's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.outbox_signal import OutboxListener
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs import IDLE_MAX_S, Job
from scheduler.main import Pacer, next_wait_s, relay
from server.domain.events import AgentRegistered
from server.events.service import EventFeed
from server.settings import Settings

HOUR_S = 3600.0
DEADLINE_S = 60.0


async def _register(uow: UnitOfWorkFactory, agent_id: str) -> None:
    async with uow() as unit:
        await unit.events.add(
            AgentRegistered(agent_id=agent_id, display_name="Wake", agent_type="service")
        )
        await unit.commit()


async def test_a_caught_up_follower_reads_the_next_commit_at_once(
    uow: UnitOfWorkFactory, database_url: str
) -> None:
    feed = EventFeed(uow, poll_interval_s=HOUR_S)
    listener = OutboxListener(database_url, retry_s=HOUR_S)
    agent = f"ag_{uuid.uuid4().hex[:16]}"
    waits: asyncio.Queue[None] = asyncio.Queue()

    async def wake(_timeout_s: float) -> bool:
        waits.put_nowait(None)
        return await listener.wait(HOUR_S)

    follow = feed.follow(
        await feed.latest_event_id(), frozenset({"AGENT_REGISTERED"}), agent, wake=wake
    )
    try:
        reading = asyncio.ensure_future(anext(follow))
        # Caught up and listening (the first wait starts LISTEN and returns at once).
        for _ in range(2):
            await asyncio.wait_for(waits.get(), DEADLINE_S)
        await _register(uow, agent)
        event = await asyncio.wait_for(reading, DEADLINE_S)
        assert (event.event_type, event.agent_id) == ("AGENT_REGISTERED", agent)
    finally:
        await follow.aclose()
        await listener.close()


async def test_an_outbox_job_runs_at_the_commit_not_its_interval(
    engine: AsyncEngine, uow: UnitOfWorkFactory, backing: Any, database_url: str
) -> None:
    redis = Redis.from_url(backing.redis_url)
    context = JobContext(Settings(database_url=database_url), engine, uow, redis)
    runs: asyncio.Queue[None] = asyncio.Queue()

    async def probe(context: JobContext) -> dict[str, Any]:
        runs.put_nowait(None)
        return {}

    job = Job(f"wake-probe-{uuid.uuid4().hex[:8]}", probe, lambda s: HOUR_S, follows_outbox=True)
    pacer = Pacer(context, [job])
    pacer.scheduler.start()
    listener = OutboxListener(database_url, retry_s=HOUR_S)
    wakes = asyncio.create_task(relay(listener, pacer))
    try:
        for _ in range(int(DEADLINE_S * 10)):
            if listener.listening:
                break
            await asyncio.sleep(0.1)
        await _register(uow, f"ag_{uuid.uuid4().hex[:16]}")
        await asyncio.wait_for(runs.get(), DEADLINE_S)
    finally:
        wakes.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await wakes
        await pacer.stop()
        await listener.close()
        await redis.aclose()


async def test_a_wake_during_a_run_runs_the_job_again_after_it(
    engine: AsyncEngine, uow: UnitOfWorkFactory, backing: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The wake is kept for when the run ends: not refused as a second running instance."""
    redis = Redis.from_url(backing.redis_url)
    context = JobContext(Settings(), engine, uow, redis)
    started: asyncio.Queue[None] = asyncio.Queue()
    release = asyncio.Event()

    async def slow(context: JobContext) -> dict[str, Any]:
        started.put_nowait(None)
        await release.wait()
        return {}

    job = Job(f"slow-probe-{uuid.uuid4().hex[:8]}", slow, lambda s: HOUR_S, follows_outbox=True)
    pacer = Pacer(context, [job])
    caplog.set_level(logging.WARNING, logger="apscheduler")
    pacer.scheduler.start()
    try:
        pacer.wake()
        await asyncio.wait_for(started.get(), DEADLINE_S)
        pacer.wake()  # during the run
        pacer.wake()
        release.set()
        await asyncio.wait_for(started.get(), DEADLINE_S)
        assert started.empty()  # two wakes in one run make one more run
        assert [r for r in caplog.records if r.name.startswith("apscheduler")] == []
    finally:
        release.set()
        await pacer.stop()
        await redis.aclose()


def test_idle_outbox_jobs_back_off_and_work_brings_them_back() -> None:
    settings = Settings(webhook_delivery_interval_s=1.0, cleanup_interval_s=3600.0)
    follows = Job("follows", _never, lambda s: s.webhook_delivery_interval_s, follows_outbox=True)
    fixed = Job("fixed", _never, lambda s: 5.0)
    waits = [1.0]
    for _ in range(10):
        waits.append(next_wait_s(follows, settings, waits[-1], idle=True))
    assert waits[:5] == [1.0, 2.0, 4.0, 8.0, 16.0] and waits[-1] == IDLE_MAX_S
    assert next_wait_s(follows, settings, IDLE_MAX_S, idle=False) == 1.0
    assert next_wait_s(fixed, settings, 5.0, idle=True) == 5.0


async def _never(context: JobContext) -> dict[str, Any]:
    raise AssertionError("not run")
