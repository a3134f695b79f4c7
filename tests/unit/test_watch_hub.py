"""The watch hub in memory: filters, the position it reports, and a lagging queue."""

from __future__ import annotations

from datetime import UTC, datetime

from server.domain.changes import ChangeEvent
from server.events import hub as hub_module
from server.events.hub import Subscription, WatchHub
from server.events.service import keepalive


def _event(event_id: int, event_type: str = "AGENT_UPDATED", agent: str = "ag_a") -> ChangeEvent:
    return ChangeEvent(event_id, event_type, agent, datetime.now(UTC))


async def _ids(subscription: Subscription) -> list[int]:
    """What the queue holds now."""
    ids = []
    while (event := await subscription.next(0)) is not None:
        ids.append(event.event_id)
    return ids


async def test_each_subscription_gets_its_agent_and_types_in_order() -> None:
    hub = WatchHub()
    await hub.publish(keepalive(10))
    everything = hub.subscribe(frozenset(), None)
    mine = hub.subscribe(frozenset({"AGENT_DELETED"}), "ag_a")
    assert everything.start == mine.start == 10
    for event in (_event(11), _event(12, agent="ag_b"), _event(13, "AGENT_DELETED")):
        await hub.publish(event)
    await hub.publish(keepalive(15))
    assert hub.position == 15
    assert await _ids(everything) == [11, 12, 13]
    assert await _ids(mine) == [13]
    hub.unsubscribe(mine)
    await hub.publish(_event(16, "AGENT_DELETED"))
    assert mine.empty and hub.subscribers == 1


async def test_a_subscription_too_far_behind_lags_instead_of_growing(monkeypatch) -> None:
    monkeypatch.setattr(hub_module, "QUEUE_LIMIT", 3)
    hub = WatchHub()
    await hub.publish(keepalive(0))
    slow = hub.subscribe(frozenset(), None)
    for event_id in range(1, 6):
        await hub.publish(_event(event_id))
    assert slow.lagging and slow.empty
    assert await slow.next(0) is None
