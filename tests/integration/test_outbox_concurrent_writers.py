"""Many writers committing out of id order: neither a reader of settled ranges nor the
webhook fan-out (whose cursor moves with the deliveries it writes) skips an event.

Each writer is a real session: it may take its transaction id early (as an RPC that
updates its agent row before writing the event), takes an event id, holds, and
commits (or rolls back) while others commit first.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine, session_factory
from db.repositories.outbox_reader import OutboxReader
from db.repositories.webhook_delivery import WebhookDeliveryRepository
from db.repositories.webhooks import WebhookRepository
from db.uow import UnitOfWork, UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs.webhook_delivery import FAN_OUT_CURSOR, fan_out
from server.domain.agents import AgentProfile, AgentType
from server.domain.events import AgentUpdated
from server.domain.ids import AGENT_PREFIX, new_id
from server.domain.webhooks import WEBHOOK_PREFIX
from server.settings import Settings

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
    """Calls `follow` (one pass: settle, read, move; returns the new position) again and
    again, as the webhook fan-out and the outbox follower do."""

    def __init__(self, follow: Callable[[], Awaitable[int]], position: int) -> None:
        self._follow = follow
        self.position = position
        self.started = 0
        self.finished = 0
        self._progress = asyncio.Condition()

    async def run(self) -> None:
        while True:
            self.started += 1
            self.position = await self._follow()
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
            ids[i] = await units[i].events.add(AgentUpdated(agent_id=tag))
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
        event_id = await unit.events.add(AgentUpdated(agent_id=tag))
        await asyncio.sleep(rng.uniform(0, 0.3))
        if rng.random() < 0.1:
            return event_id, False  # rolled back on exit
        await unit.commit()
    return event_id, True


async def _write_out_of_order(uow: UnitOfWorkFactory, tag: str, consumer: Consumer) -> list[int]:
    """The committed event ids, oldest first."""
    following = asyncio.create_task(consumer.run())
    outcome: dict[int, bool] = {}
    try:
        for _ in range(GROUPS):
            outcome |= await _group(uow, tag, consumer)
        rng = random.Random(7)
        chaos = [_chaos_writer(uow, tag, rng) for _ in range(CHAOS_WRITERS)]
        outcome |= dict(await asyncio.gather(*chaos))
        committed = sorted(event_id for event_id, kept in outcome.items() if kept)
        await consumer.reach(committed[-1])
    finally:
        following.cancel()
        await asyncio.gather(following, return_exceptions=True)
    return committed


async def test_a_reader_of_settled_ranges_skips_nothing(writers: UnitOfWorkFactory) -> None:
    tag = f"ag_{uuid.uuid4().hex[:16]}"
    async with writers() as unit:
        start = await OutboxReader(unit.session).latest_id()
    seen: list[int] = []
    position = start

    async def follow() -> int:
        nonlocal position
        async with writers() as unit:
            reader = OutboxReader(unit.session)
            _, last = await reader.settled_after(position, 500, max_wait_s=0.2)
            events = (
                await unit.events.list_after(position, 500, up_to=last) if last > position else []
            )
        seen.extend(e.event_id for e in events if e.agent_id == tag)
        position = last
        return last

    committed = await _write_out_of_order(writers, tag, Consumer(follow, start))
    assert seen == committed


async def test_the_webhook_fan_out_skips_nothing(
    writers: UnitOfWorkFactory, engine: AsyncEngine, settings: Settings
) -> None:
    agent_id = new_id(AGENT_PREFIX)
    webhook_id = new_id(WEBHOOK_PREFIX)
    async with writers() as unit:
        key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        profile = AgentProfile(display_name="Fan-out", agent_type=AgentType.SERVICE)
        await unit.agents.add(agent_id, profile, key, [])
        await WebhookRepository(unit.session).add(
            webhook_id, agent_id, "https://example.com/h", [], "enabled", "whsec_test"
        )
        await unit.commit()
    # The fan-out only reads the database: no Redis behind this context.
    context = JobContext(settings, engine, writers, Redis())

    async def follow() -> int:
        await fan_out(context, max_batches=1)
        async with writers() as unit:
            return await WebhookDeliveryRepository(unit.session).cursor(FAN_OUT_CURSOR)

    async with writers() as unit:
        start = await WebhookDeliveryRepository(unit.session).cursor(FAN_OUT_CURSOR)
    committed = await _write_out_of_order(writers, agent_id, Consumer(follow, start))
    async with writers() as unit:
        delivered = await unit.session.scalars(
            text(
                "SELECT event_id FROM webhook_deliveries WHERE webhook_id = :id ORDER BY event_id"
            ),
            {"id": webhook_id},
        )
        assert list(delivered) == committed
