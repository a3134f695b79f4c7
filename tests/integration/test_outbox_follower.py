"""The process's outbox follower: each subscriber gets its types, in order, despite the others."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from db.uow import UnitOfWorkFactory
from server.domain.agents import AgentStatus
from server.domain.attestations import ClaimKind
from server.domain.changes import ChangeEvent
from server.domain.events import (
    AgentDeleted,
    AgentRegistered,
    AgentStatusChanged,
    AttestationReceived,
)
from server.events.follower import OutboxFollower
from server.events.service import EventFeed


async def test_each_subscriber_gets_its_types_in_order_even_if_another_fails(
    uow: UnitOfWorkFactory,
) -> None:
    follower = OutboxFollower(EventFeed(uow, poll_interval_s=0.05))
    agent = f"ag_{uuid.uuid4().hex[:16]}"
    names: list[tuple[str, str]] = []
    pushed: list[str] = []
    deleted = asyncio.Event()  # the last event: every earlier one was dispatched before it

    async def failing(event: ChangeEvent) -> None:
        raise RuntimeError("a broken subscriber")

    async def name_events(event: ChangeEvent) -> None:
        if event.agent_id == agent:
            names.append((event.event_type, event.agent_id))
            if event.event_type == "AGENT_DELETED":
                deleted.set()

    async def push_events(event: ChangeEvent) -> None:
        if event.agent_id == agent:
            pushed.append(event.event_type)

    follower.subscribe(frozenset({"AGENT_REGISTERED", "AGENT_DELETED"}), failing)
    follower.subscribe(frozenset({"AGENT_REGISTERED", "AGENT_DELETED"}), name_events)
    follower.subscribe(frozenset({"ATTESTATION_RECEIVED"}), push_events)
    follower.start(await follower.position())
    try:
        async with uow() as unit:
            for event in (
                AgentRegistered(agent_id=agent, display_name="Follower", agent_type="service"),
                AttestationReceived(
                    agent_id=agent,
                    attestation_id="at_0000000000000000",
                    attester_id="ag_0000000000000000",
                    kind=ClaimKind.BEHAVIOUR,
                ),
                AgentStatusChanged(
                    agent_id=agent,
                    status=AgentStatus.ONLINE,
                    previous_status=AgentStatus.OFFLINE,
                    last_seen_at=datetime.now(UTC),
                ),
                AgentDeleted(agent_id=agent),
            ):
                await unit.events.add(event)
            await unit.commit()
        await asyncio.wait_for(deleted.wait(), 10)
    finally:
        await follower.stop()
    assert names == [("AGENT_REGISTERED", agent), ("AGENT_DELETED", agent)]
    assert pushed == ["ATTESTATION_RECEIVED"]
