"""The post-commit dispatcher runs the handlers declared for each recorded event, in order."""

from __future__ import annotations

import asyncio

from server.domain.events import AgentDeleted, AgentUpdated, DomainEvent
from server.events.dispatch import PostCommit


def test_handlers_run_per_event_in_order_and_only_for_their_class() -> None:
    seen: list[str] = []

    async def first(event: DomainEvent) -> None:
        seen.append(f"first {event.event_type} {event.agent_id}")

    async def second(event: AgentUpdated) -> None:
        seen.append(f"second {event.fields}")

    dispatch = PostCommit().on(AgentUpdated, first).on(AgentUpdated, second)
    recorded: list[DomainEvent] = [
        AgentUpdated(agent_id="a", fields=("tags",)),
        AgentDeleted(agent_id="b"),  # nothing declared for it
        AgentUpdated(agent_id="c", fields=()),
    ]
    asyncio.run(dispatch.handle(recorded))
    assert seen == [
        "first AGENT_UPDATED a",
        "second ('tags',)",
        "first AGENT_UPDATED c",
        "second ()",
    ]
