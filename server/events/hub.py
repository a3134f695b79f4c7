"""The process's watch streams, fed in memory from its one outbox follower.

A WatchEvents stream used to poll Postgres on its own every few hundred
milliseconds; a few hundred of them held every pooled connection and starved the
other calls. Now the follower (server/events/follower.py) reads each settled event
once and hands it here, and every stream of the process takes it from its own
queue: a caught-up stream costs no query at all.

`position` is the follower's settled position: every committed event with an id at
or below it has been published, and whatever is published later has a higher id.
A stream subscribes first and notes `position` (`Subscription.start`), then reads
what lies between its resume point and `start` from Postgres; the queue holds the
rest, so the two meet without a gap (ids it has already sent are dropped).

A stream that falls `QUEUE_LIMIT` events behind is marked lagging and its queue
emptied: it goes back to Postgres from where it stands, so a slow client costs
memory no more than that and misses nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque

from server.domain.changes import ChangeEvent
from server.events.service import KEEPALIVE

QUEUE_LIMIT = 10_000


class Subscription:
    """One stream's queue: the published events of its types and agent, in id order."""

    __slots__ = ("_events", "_wake", "agent_id", "lagging", "start", "types")

    def __init__(self, start: int, types: frozenset[str], agent_id: str | None) -> None:
        self.start = start
        self.types = types
        self.agent_id = agent_id
        self.lagging = False
        self._events: deque[ChangeEvent] = deque()
        self._wake = asyncio.Event()

    def push(self, event: ChangeEvent) -> None:
        if self.lagging:
            return
        if len(self._events) >= QUEUE_LIMIT:
            self.lagging = True
            self._events.clear()
        else:
            self._events.append(event)
        self._wake.set()

    @property
    def empty(self) -> bool:
        return not self._events

    async def next(self, timeout_s: float | None) -> ChangeEvent | None:
        """The next event; None after `timeout_s` without one, or when lagging."""
        if not self._events and not self.lagging:
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout_s)
            except TimeoutError:
                return None
        if self.lagging or not self._events:
            return None
        return self._events.popleft()


class WatchHub:
    """Fans the follower's events out to the process's subscriptions, by agent then type."""

    def __init__(self) -> None:
        self._position: int | None = None
        self._ready = asyncio.Event()
        self._by_agent: dict[str | None, set[Subscription]] = {}

    async def ready(self) -> int:
        """The position, once the follower has said where it starts."""
        await self._ready.wait()
        assert self._position is not None
        return self._position

    @property
    def position(self) -> int:
        if self._position is None:
            raise RuntimeError("the watch hub has not started")
        return self._position

    @property
    def subscribers(self) -> int:
        return sum(len(subs) for subs in self._by_agent.values())

    def subscribe(self, types: frozenset[str], agent_id: str | None) -> Subscription:
        subscription = Subscription(self.position, types, agent_id)
        self._by_agent.setdefault(agent_id, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subs = self._by_agent.get(subscription.agent_id)
        if subs is not None:
            subs.discard(subscription)
            if not subs:
                del self._by_agent[subscription.agent_id]

    async def publish(self, event: ChangeEvent) -> None:
        """The follower's handler: an event, or a KEEPALIVE marking its settled position."""
        if event.event_type != KEEPALIVE:
            for key in (None, event.agent_id):
                for subscription in self._by_agent.get(key, ()):
                    if not subscription.types or event.event_type in subscription.types:
                        subscription.push(event)
        if self._position is None or event.event_id > self._position:
            self._position = event.event_id
        self._ready.set()
