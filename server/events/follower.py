"""One follower of the committed outbox per server process, shared by what reacts to events.

Events for an agent's heartbeat stream (server.presence.event_push) and typeahead's
names (server.search.names) both follow the outbox from "now", as do the process's
WatchEvents streams through their hub (server/events/hub.py), which subscribes to
every type and to the follower's settled position. A read is a few statements; one read
serves every subscriber, so adding a subscriber (or a watch stream) costs no more queries.
Caught up, the follower waits for the next commit that wrote events (LISTEN, see
db/outbox_signal.py) rather than polling every WATCH_POLL_INTERVAL_S: an idle worker
queries nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from db.outbox_signal import OutboxListener
from server.domain.changes import ChangeEvent
from server.events.service import KEEPALIVE, EventFeed, keepalive
from server.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Handler = Callable[[ChangeEvent], Awaitable[None]]
_RETRY_S = 1.0
# How long the start waits for writers in flight before it starts anyway.
_START_WAIT_S = 10.0


class OutboxFollower:
    def __init__(self, feed: EventFeed, listener: OutboxListener | None = None) -> None:
        self._feed = feed
        # Caught up, the follower waits for a commit's notification instead of polling.
        self._listener = listener
        # Types None: every event, and a KEEPALIVE at each settled position polled.
        self._subscribers: list[tuple[frozenset[str] | None, Handler]] = []
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, types: frozenset[str] | None, handler: Handler) -> None:
        """`handler` gets every committed event of these types, in order (before start);
        with None, every event and the follower's position as a KEEPALIVE."""
        self._subscribers.append((types, handler))

    async def position(self) -> int:
        """The settled outbox position now: state read after it is never older than what
        follows, and no event below it commits later."""
        position = await self._feed.settled_position(_START_WAIT_S)
        if position is None:  # starting at all matters more: an event of it may be missed
            log.warning("a writer held the outbox past %.0f s; following from now", _START_WAIT_S)
            position = await self._feed.latest_event_id()
        return position

    def start(self, position: int) -> None:
        self._task = asyncio.create_task(self._follow(position), name="outbox-follower")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        if self._listener is not None:
            await self._listener.close()

    async def _dispatch(self, event: ChangeEvent) -> None:
        for types, handler in self._subscribers:
            if types is not None and event.event_type == KEEPALIVE:
                continue
            if types is None or event.event_type in types:
                try:
                    await handler(event)
                except Exception:  # one subscriber's failure must not starve the others
                    log.exception("handling event %d (%s) failed", event.event_id, event.event_type)

    async def _follow(self, position: int) -> None:
        every = any(types is None for types, _ in self._subscribers)
        # An empty set of types reads every type.
        wanted = frozenset[str]().union(*(types or () for types, _ in self._subscribers))
        wanted = frozenset() if every else wanted
        # With a subscriber of everything, a KEEPALIVE after each quiet poll marks where we are.
        marks = 0.0 if every else None
        if every:
            await self._dispatch(keepalive(position))
        while True:
            try:
                wake = None if self._listener is None else self._listener.wait
                follow = self._feed.follow(position, wanted, None, keepalive_s=marks, wake=wake)
                async with contextlib.aclosing(follow) as events:
                    async for event in events:
                        await self._dispatch(event)
                        position = max(position, event.event_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox follower interrupted; resuming after event %d", position)
                await asyncio.sleep(_RETRY_S)
