"""The change feed: committed events after an id, then new ones as they commit.

Services that keep a local copy of the registry resume from the last id they
stored. Ids only move forward over *settled* ranges (db/repositories/outbox_reader.py),
so a stream never skips an event that committed after a higher id. Caught up, the
stream polls Postgres every `poll_interval_s`: the outbox is the single source of
truth, and a poll costs one indexed range read per stream. A watch sends a
KEEPALIVE carrying its position once it has caught up with nothing to send (as
etcd's watch confirms its start), then after every `keepalive_s` without an
event, so no proxy between it and its client sees an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from datetime import UTC, datetime

from db.repositories.outbox_reader import OutboxReader
from db.uow import UnitOfWorkFactory
from server.domain.changes import ChangeEvent
from server.domain.errors import InvalidArgument

PAGE_SIZE = 500
KEEPALIVE = "KEEPALIVE"


def keepalive(position: int) -> ChangeEvent:
    return ChangeEvent(position, KEEPALIVE, "", datetime.now(UTC))


class EventFeed:
    def __init__(
        self, uow: UnitOfWorkFactory, *, poll_interval_s: float, keepalive_s: float | None = None
    ) -> None:
        self._uow = uow
        self._poll_interval_s = poll_interval_s
        self._keepalive_s = keepalive_s

    async def latest_event_id(self) -> int:
        """The highest committed event id: following from it means "from now on"."""
        async with self._uow() as uow:
            return await OutboxReader(uow.session).latest_id()

    async def watch(
        self, after_event_id: int, types: frozenset[str], agent_id: str | None
    ) -> AsyncGenerator[ChangeEvent, None]:
        """Yields forever (until cancelled); `after_event_id` 0 means events from now on."""
        if after_event_id < 0:
            raise InvalidArgument.field("after_event_id", "must not be negative")
        position = after_event_id or await self.latest_event_id()
        follow = self.follow(position, types, agent_id, keepalive_s=self._keepalive_s)
        async with contextlib.aclosing(follow) as events:
            async for event in events:
                yield event

    async def follow(
        self,
        position: int,
        types: frozenset[str],
        agent_id: str | None,
        *,
        keepalive_s: float | None = None,
    ) -> AsyncGenerator[ChangeEvent, None]:
        """Every committed event after `position` (0: from the first), forever; with
        `keepalive_s`, a KEEPALIVE at the settled position when caught up with nothing
        sent yet, and after every `keepalive_s` without an event."""
        sent: float | None = None
        while True:
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
            for event in events:
                yield event
                sent = time.monotonic()
            quiet = sent is None or time.monotonic() - sent >= (keepalive_s or 0)
            if keepalive_s is not None and quiet and not events:
                yield keepalive(last)
                sent = time.monotonic()
            if last == position:
                await asyncio.sleep(self._poll_interval_s)
            position = last
