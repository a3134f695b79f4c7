"""One follower of the committed outbox per server process, shared by what reacts to events.

Events for an agent's heartbeat stream (server.presence.event_push) and typeahead's
names (server.search.names) both follow the outbox from "now". A poll is a few
statements every WATCH_POLL_INTERVAL_S; one poll serves every subscriber, so adding
a subscriber costs no more queries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from server.domain.changes import ChangeEvent
from server.events.service import EventFeed
from server.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Handler = Callable[[ChangeEvent], Awaitable[None]]
_RETRY_S = 1.0


class OutboxFollower:
    def __init__(self, feed: EventFeed) -> None:
        self._feed = feed
        self._subscribers: list[tuple[frozenset[str], Handler]] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, types: frozenset[str], handler: Handler) -> None:
        """`handler` gets every committed event of these types, in order (before start)."""
        self._subscribers.append((types, handler))

    async def position(self) -> int:
        """The outbox position now: state read after it is never older than what follows."""
        return await self._feed.latest_event_id()

    def start(self, position: int) -> None:
        self._task = asyncio.create_task(self._follow(position), name="outbox-follower")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _dispatch(self, event: ChangeEvent) -> None:
        for types, handler in self._subscribers:
            if event.event_type in types:
                try:
                    await handler(event)
                except Exception:  # one subscriber's failure must not starve the others
                    log.exception("handling event %d (%s) failed", event.event_id, event.event_type)

    async def _follow(self, position: int) -> None:
        wanted = frozenset().union(*(types for types, _ in self._subscribers))
        while True:
            try:
                async with contextlib.aclosing(self._feed.follow(position, wanted, None)) as events:
                    async for event in events:
                        await self._dispatch(event)
                        position = event.event_id
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox follower interrupted; resuming after event %d", position)
                await asyncio.sleep(_RETRY_S)
