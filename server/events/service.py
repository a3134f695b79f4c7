"""The change feed in Postgres: committed events after an id, one settled page at a time.

Ids only move forward over *settled* ranges (db/repositories/outbox_reader.py), so
a reader never skips an event that committed after a higher id. The process's one
outbox follower (server/events/follower.py) follows the feed with `follow`, every
`poll_interval_s`; WatchEvents streams catch up with `page` and are then fed by the
follower in memory (server/events/watch.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime

from db.repositories.outbox_reader import OutboxReader
from db.uow import UnitOfWorkFactory
from server.domain.changes import ChangeEvent
from server.domain.events import EventType

PAGE_SIZE = 500
# A caught-up follower with a wake-up reads again at the latest this long after its last
# read, should a commit's notification be lost.
IDLE_WAKE_S = 10.0
Wake = Callable[[float], Awaitable[bool]]
KEEPALIVE = EventType.KEEPALIVE


def keepalive(position: int) -> ChangeEvent:
    return ChangeEvent(position, KEEPALIVE, "", datetime.now(UTC))


class EventFeed:
    def __init__(self, uow: UnitOfWorkFactory, *, poll_interval_s: float) -> None:
        self._uow = uow
        self._poll_interval_s = poll_interval_s

    async def latest_event_id(self) -> int:
        """The highest committed event id."""
        async with self._uow() as uow:
            return await OutboxReader(uow.session).latest_id()

    async def settled_position(self, max_wait_s: float) -> int | None:
        """The highest committed event id once no writer can still commit a lower one:
        following from it means "from now on", without a gap. None while a writer
        still runs after `max_wait_s`."""
        async with self._uow() as uow:
            return await OutboxReader(uow.session).settled_latest(max_wait_s=max_wait_s)

    async def page(
        self, position: int, types: frozenset[str], agent_id: str | None
    ) -> tuple[list[ChangeEvent], int]:
        """(events, last): the wanted events of the settled range (position, last]."""
        async with self._uow() as uow:
            _, last = await OutboxReader(uow.session).settled_after(position, PAGE_SIZE)
            # Only the settled range, only the wanted types: a presence flush can add
            # thousands of status events that a follower of other types never reads.
            events = (
                await uow.events.list_after(
                    position, PAGE_SIZE, agent_id=agent_id, up_to=last, types=types
                )
                if last > position
                else []
            )
        return events, last

    async def follow(
        self,
        position: int,
        types: frozenset[str],
        agent_id: str | None,
        *,
        keepalive_s: float | None = None,
        wake: Wake | None = None,
    ) -> AsyncGenerator[ChangeEvent, None]:
        """Every committed event after `position` (0: from the first), forever; with
        `keepalive_s`, a KEEPALIVE at the settled position when caught up with nothing
        sent yet, and after every `keepalive_s` without an event.

        Caught up, it polls every `poll_interval_s`; with `wake` (a commit notification,
        db/outbox_signal.py) it waits for the next commit instead, up to `IDLE_WAKE_S`,
        and polls only while a committed event waits for a writer below it to end."""
        sent: float | None = None
        while True:
            events, last = await self.page(position, types, agent_id)
            for event in events:
                yield event
                sent = time.monotonic()
            quiet = sent is None or time.monotonic() - sent >= (keepalive_s or 0)
            if keepalive_s is not None and quiet and not events:
                yield keepalive(last)
                sent = time.monotonic()
            if last == position:
                if wake is None or await self.latest_event_id() > position:
                    await asyncio.sleep(self._poll_interval_s)
                else:
                    await wake(IDLE_WAKE_S)
            position = last
