"""Registry events about an agent, pushed down its heartbeat stream.

The process's outbox follower (server.events.follower: the same no-skip reader as
WatchEvents, from "now") hands each event of these types to the stream of its agent
when that stream is open in this process. An agent with no stream here loses
nothing: webhooks and WatchEvents carry the same events durably.
"""

from __future__ import annotations

from server.domain.changes import ChangeEvent
from server.domain.events import EventType
from server.events.convert import event_to_proto
from server.presence.streams import StreamRegistry

# What an agent hears about itself on its stream (its own status changes it already knows).
PUSHED = frozenset(
    {
        EventType.ATTESTATION_RECEIVED,
        EventType.ATTESTATION_REVOKED,
        EventType.CAPABILITY_VERIFIED,
        EventType.WEBHOOK_DISABLED,
    }
)


class EventPusher:
    def __init__(self, streams: StreamRegistry) -> None:
        self._streams = streams
        self.pushed = 0

    async def __call__(self, event: ChangeEvent) -> None:
        if self._streams.push(event.agent_id, event_to_proto(event)):
            self.pushed += 1
