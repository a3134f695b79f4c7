"""Registry events about an agent, pushed down its heartbeat stream.

Each server process follows the committed outbox (the same no-skip reader as
WatchEvents, from "now") and hands an event to the stream of its agent when
that stream is open in this process. An agent with no stream here loses
nothing: webhooks and WatchEvents carry the same events durably.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.events.convert import event_to_proto
from server.events.service import EventFeed
from server.presence.streams import StreamRegistry
from server.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# What an agent hears about itself on its stream (its own status changes it already knows).
PUSHED = frozenset(
    {"ATTESTATION_RECEIVED", "ATTESTATION_REVOKED", "CAPABILITY_VERIFIED", "WEBHOOK_DISABLED"}
)
_RETRY_S = 1.0


class EventPusher:
    def __init__(self, feed: EventFeed, streams: StreamRegistry) -> None:
        self._feed = feed
        self._streams = streams
        self._task: asyncio.Task[None] | None = None
        self.pushed = 0

    async def _run(self) -> None:
        while True:
            try:
                async with contextlib.aclosing(self._feed.watch(0, PUSHED, None)) as events:
                    async for event in events:
                        if self._streams.push(event.agent_id, event_to_proto(event)):
                            self.pushed += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("event push interrupted; following the outbox again")
                await asyncio.sleep(_RETRY_S)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="presence-event-push")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
