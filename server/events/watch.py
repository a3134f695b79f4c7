"""WatchEvents streams: caught up from Postgres, then fed in memory by the process's hub.

A stream subscribes to the hub (server/events/hub.py) before it reads anything, reads
what lies between its resume point and the hub's position from Postgres (a few
streams at a time, so a burst of resumes cannot take every pooled connection), then
takes the rest from its queue, dropping what it already sent. It sends a KEEPALIVE
carrying its position once it has caught up with nothing to send (as etcd's watch
confirms its start), then after every `keepalive_s` without a message, so no proxy
between it and its client sees an idle stream.

Each principal (agent, API key, else client address, as the rate limiter names
them) holds at most `max_per_principal` streams in a process; past it a watch is
refused with RESOURCE_EXHAUSTED (TOO_MANY_WATCHES) and a retry delay.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from server.domain import refusals
from server.domain.changes import ChangeEvent
from server.domain.errors import InvalidArgument
from server.events.hub import Subscription, WatchHub
from server.events.service import EventFeed, keepalive

# Streams of a process reading Postgres at once while they catch up.
CATCH_UP_CONCURRENCY = 2
# A watch from now on waits at most this long for writers in flight (see _Now).
NOW_WAIT_S = 1.0
# A refused watch is told to come back after this long: streams rarely end sooner.
RETRY_AFTER_S = 5.0


class WatchQuota:
    """Open streams per principal in this process."""

    def __init__(self, max_per_principal: int) -> None:
        self._max = max_per_principal
        self._open: Counter[str] = Counter()

    @contextmanager
    def hold(self, principal: str) -> Iterator[None]:
        if self._open[principal] >= self._max:
            raise refusals.too_many_watches(self._max, RETRY_AFTER_S)
        self._open[principal] += 1
        try:
            yield
        finally:
            self._open[principal] -= 1
            if self._open[principal] <= 0:
                del self._open[principal]


class _Now:
    """Where "from now on" starts, coalesced: one settled read (a few statements, and a
    wait for writers in flight) serves every watch that asked before it began. None
    when a writer holds it past NOW_WAIT_S: the hub's position (settled, and at most a
    poll behind) serves then."""

    def __init__(self, feed: EventFeed) -> None:
        self._feed = feed
        self._next: asyncio.Future[int | None] | None = None
        self._one_at_a_time = asyncio.Lock()
        self._runs: set[asyncio.Task[None]] = set()

    async def position(self) -> int | None:
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
            self._next.add_done_callback(_retrieve)
            run = asyncio.create_task(self._run(self._next))
            self._runs.add(run)
            run.add_done_callback(self._runs.discard)
        return await asyncio.shield(self._next)

    async def _run(self, answer: asyncio.Future[int | None]) -> None:
        async with self._one_at_a_time:
            self._next = None  # who asks from here on waits for the next read
            try:
                answer.set_result(await self._feed.settled_position(NOW_WAIT_S))
            except Exception as error:
                answer.set_exception(error)


def _retrieve(answer: asyncio.Future[int | None]) -> None:
    """A read nobody waits for any more may fail unheard."""
    if not answer.cancelled():
        answer.exception()


@dataclass(slots=True)
class _Cursor:
    """Where a stream stands: every wanted event up to `position` was sent."""

    position: int
    sent_at: float | None = None  # monotonic time of its last message


class Watches:
    def __init__(
        self,
        feed: EventFeed,
        hub: WatchHub,
        *,
        keepalive_s: float,
        poll_interval_s: float,
        max_per_principal: int,
    ) -> None:
        self._feed = feed
        self._hub = hub
        self._keepalive_s = keepalive_s
        self._poll_interval_s = poll_interval_s
        self._quota = WatchQuota(max_per_principal)
        self._catch_up = asyncio.Semaphore(CATCH_UP_CONCURRENCY)
        self._now = _Now(feed)

    async def watch(
        self,
        principal: str,
        after_event_id: int,
        types: frozenset[str],
        agent_id: str | None,
        *,
        from_oldest: bool = False,
    ) -> AsyncGenerator[ChangeEvent, None]:
        """Yields forever (until cancelled); `after_event_id` 0 means events from now on,
        unless `from_oldest` asks for every event still retained first."""
        if after_event_id < 0:
            raise InvalidArgument.field("after_event_id", "must not be negative")
        if from_oldest and after_event_id:
            raise InvalidArgument.field(
                "start_from_oldest", "cannot be combined with after_event_id"
            )
        with self._quota.hold(principal):
            hub_position = await self._hub.ready()
            if not after_event_id and not from_oldest:
                after_event_id = max(hub_position, await self._now.position() or 0)
            cursor = _Cursor(after_event_id)
            while True:  # each turn: subscribe, catch up, follow the queue until it lags
                subscription = self._hub.subscribe(types, agent_id)
                try:
                    async for event in self._caught_up(cursor, subscription):
                        yield event
                    async for event in self._live(cursor, subscription):
                        yield event
                finally:
                    self._hub.unsubscribe(subscription)

    async def _caught_up(
        self, cursor: _Cursor, subscription: Subscription
    ) -> AsyncGenerator[ChangeEvent, None]:
        """From Postgres up to where the subscription's queue begins."""
        while cursor.position < subscription.start:
            async with self._catch_up:
                events, last = await self._feed.page(
                    cursor.position, subscription.types, subscription.agent_id
                )
            for event in events:
                yield event
                cursor.sent_at = time.monotonic()
            if last == cursor.position:  # a writer below is still in flight
                await asyncio.sleep(self._poll_interval_s)
            cursor.position = last
        if cursor.sent_at is None and subscription.empty:
            cursor.position = max(cursor.position, self._hub.position)
            yield keepalive(cursor.position)
            cursor.sent_at = time.monotonic()

    async def _live(
        self, cursor: _Cursor, subscription: Subscription
    ) -> AsyncGenerator[ChangeEvent, None]:
        """From the queue, with a KEEPALIVE after every `keepalive_s` without a message."""
        while not subscription.lagging:
            quiet_s = time.monotonic() - (cursor.sent_at or 0.0)
            event = await subscription.next(max(0.0, self._keepalive_s - quiet_s))
            if event is None:
                if subscription.lagging:
                    return
                if subscription.empty:  # all it wanted up to the hub's position was sent
                    cursor.position = max(cursor.position, self._hub.position)
                yield keepalive(cursor.position)
            elif event.event_id > cursor.position:
                yield event
                cursor.position = event.event_id
            else:
                continue  # already sent while catching up
            cursor.sent_at = time.monotonic()
