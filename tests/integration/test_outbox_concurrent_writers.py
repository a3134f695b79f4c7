"""Many writers committing out of id order: a consumer of settled ranges skips nothing.

Each writer is a real session: it may take its transaction id early (as an RPC that
updates its agent row before writing the event), takes an event id, holds, and
commits (or rolls back) while others commit first.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from db.engine import create_engine, session_factory
from db.repositories.outbox_reader import OutboxReader
from db.uow import UnitOfWork, UnitOfWorkFactory

GROUPS = 3
GROUP_SIZE = 10
CHAOS_WRITERS = 40
_DEADLINE_S = 120.0


@pytest.fixture
async def writers(database_url: str) -> AsyncIterator[UnitOfWorkFactory]:
    """A pool with room for every writer at once, beside the consumer and its fence."""
    engine = create_engine(database_url, pool_size=CHAOS_WRITERS + 4)
    yield UnitOfWorkFactory(session_factory(engine))
    await engine.dispose()


class Consumer:
    """Follows the outbox as the webhook fan-out and WatchEvents do: settle, read, move."""

    def __init__(self, uow: UnitOfWorkFactory, tag: str, position: int) -> None:
        self._uow = uow
        self._tag = tag
        self.position = position
        self.seen: list[int] = []
        self.started = 0
        self.finished = 0
        self._progress = asyncio.Condition()

    async def run(self) -> None:
        while True:
            self.started += 1
            async with self._uow() as unit:
                reader = OutboxReader(unit.session)
                _, last = await reader.settled_after(self.position, 500, max_wait_s=0.2)
                events = (
                    await unit.events.list_after(self.position, 500, up_to=last)
                    if last > self.position
                    else []
                )
            self.seen.extend(e.event_id for e in events if e.agent_id == self._tag)
            self.position = last
            async with self._progress:
                self.finished += 1
                self._progress.notify_all()
            await asyncio.sleep(0.005)

    async def one_pass_after_now(self) -> None:
        """Returns once a pass that began after this call has finished."""
        mark = self.started
        async with self._progress:
            await asyncio.wait_for(
                self._progress.wait_for(lambda: self.finished > mark), _DEADLINE_S
            )

    async def reach(self, event_id: int) -> None:
        async with self._progress:
            await asyncio.wait_for(
                self._progress.wait_for(lambda: self.position >= event_id), _DEADLINE_S
            )


async def _open(uow: UnitOfWorkFactory) -> UnitOfWork:
    unit = uow()
    await unit.__aenter__()
    return unit


async def _take_xid(unit: UnitOfWork) -> None:
    await unit.session.execute(text("SELECT pg_current_xact_id()"))


async def _group(uow: UnitOfWorkFactory, tag: str, consumer: Consumer) -> dict[int, bool]:
    """Transaction ids taken in one order, event ids in the reverse one; the oldest
    transaction (holding the highest event id) commits first, and the consumer looks
    before the others finish, in a random order, one of them rolling back."""
    units = [await _open(uow) for _ in range(GROUP_SIZE)]
    outcome: dict[int, bool] = {}
    try:
        for unit in units:
            await _take_xid(unit)
        ids = [0] * GROUP_SIZE
        for i in reversed(range(GROUP_SIZE)):
            ids[i] = await units[i].events.add("AGENT_UPDATED", tag, {"writer": i})
        await units[0].commit()
        outcome[ids[0]] = True
        await consumer.one_pass_after_now()
        rest = list(range(1, GROUP_SIZE))
        random.shuffle(rest)
        rolled_back = rest[0]
        for i in rest:
            if i == rolled_back:
                await units[i].rollback()
                outcome[ids[i]] = False
            else:
                await units[i].commit()
                outcome[ids[i]] = True
    finally:
        for unit in units:
            await unit.__aexit__(None, None, None)
    return outcome


async def _chaos_writer(uow: UnitOfWorkFactory, tag: str, rng: random.Random) -> tuple[int, bool]:
    async with uow() as unit:
        if rng.random() < 0.5:
            await _take_xid(unit)
        await asyncio.sleep(rng.uniform(0, 0.05))
        event_id = await unit.events.add("AGENT_UPDATED", tag, {})
        await asyncio.sleep(rng.uniform(0, 0.3))
        if rng.random() < 0.1:
            return event_id, False  # rolled back on exit
        await unit.commit()
    return event_id, True


async def test_no_committed_event_is_skipped_whatever_the_commit_order(
    writers: UnitOfWorkFactory,
) -> None:
    uow = writers
    tag = f"ag_{uuid.uuid4().hex[:16]}"
    async with uow() as unit:
        start = await OutboxReader(unit.session).latest_id()
    consumer = Consumer(uow, tag, start)
    following = asyncio.create_task(consumer.run())
    outcome: dict[int, bool] = {}
    try:
        for _ in range(GROUPS):
            outcome |= await _group(uow, tag, consumer)
        rng = random.Random(7)
        chaos = [_chaos_writer(uow, tag, rng) for _ in range(CHAOS_WRITERS)]
        outcome |= dict(await asyncio.gather(*chaos))
        await consumer.reach(max(outcome))
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    committed = sorted(event_id for event_id, kept in outcome.items() if kept)
    assert consumer.seen == committed
