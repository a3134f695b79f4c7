"""The outbox reader never moves past an event that commits after a higher id."""

from __future__ import annotations

from db.repositories.outbox_reader import OutboxReader
from db.uow import UnitOfWorkFactory


async def test_a_late_commit_below_a_visible_id_is_not_skipped(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        position = await OutboxReader(unit.session).latest_id()
    slow = uow()
    await slow.__aenter__()
    try:
        late_id = await slow.events.add("AGENT_UPDATED", "ag_late", {})
        async with uow() as fast:
            early_id = await fast.events.add("AGENT_UPDATED", "ag_fast", {})
            await fast.commit()
        assert late_id < early_id
        async with uow() as unit:
            # The gap at late_id is in flight: the reader holds back instead of skipping it.
            first, last = await OutboxReader(unit.session).settled_after(
                position, 100, max_wait_s=0.2
            )
        assert last < late_id
        await slow.commit()
    finally:
        await slow.__aexit__(None, None, None)
    async with uow() as unit:
        first, last = await OutboxReader(unit.session).settled_after(position, 100)
    assert first <= late_id and last >= early_id


async def test_a_rolled_back_gap_is_passed(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        position = await OutboxReader(unit.session).latest_id()
    async with uow() as aborted:
        await aborted.events.add("AGENT_UPDATED", "ag_gone", {})  # never committed
    async with uow() as unit:
        kept = await unit.events.add("AGENT_UPDATED", "ag_kept", {})
        await unit.commit()
    async with uow() as unit:
        _, last = await OutboxReader(unit.session).settled_after(position, 100)
    assert last == kept
