"""The outbox reader never moves past an event that commits after a higher id."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from db.repositories.outbox_reader import OutboxReader
from db.uow import UnitOfWorkFactory
from server.domain.events import AgentUpdated


async def _until_reader_waits(
    uow: UnitOfWorkFactory, settling: asyncio.Task[tuple[int, int]]
) -> None:
    """Until the reader has read the ids and waits for older writers to end."""
    async with asyncio.timeout(30):
        while not settling.done():
            async with uow() as probe:
                waiting = await probe.session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE pid <> pg_backend_pid() AND datname = current_database()"
                        " AND state IN ('active', 'idle in transaction')"
                        " AND query LIKE '%pg_snapshot_xmin%'"
                    )
                )
            if waiting:
                return
            await asyncio.sleep(0.01)


async def test_a_late_commit_below_a_visible_id_is_not_skipped(uow: UnitOfWorkFactory) -> None:
    async with uow() as unit:
        position = await OutboxReader(unit.session).latest_id()
    slow = uow()
    await slow.__aenter__()
    try:
        late_id = await slow.events.add(AgentUpdated(agent_id="ag_late"))
        async with uow() as fast:
            early_id = await fast.events.add(AgentUpdated(agent_id="ag_fast"))
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
        await aborted.events.add(AgentUpdated(agent_id="ag_gone"))  # never committed
    async with uow() as unit:
        kept = await unit.events.add(AgentUpdated(agent_id="ag_kept"))
        await unit.commit()
    async with uow() as unit:
        _, last = await OutboxReader(unit.session).settled_after(position, 100)
    assert last == kept


async def test_a_writer_with_a_newer_transaction_id_is_waited_for(uow: UnitOfWorkFactory) -> None:
    """The transaction that took the lower id may hold a *newer* xid than every finished one
    (an older transaction took its xid first and committed a higher id): a snapshot's
    xmax (one past the newest finished xid) does not cover it."""
    async with uow() as unit:
        position = await OutboxReader(unit.session).latest_id()
    early, late = uow(), uow()
    await early.__aenter__()
    await late.__aenter__()
    try:
        await early.session.execute(text("SELECT pg_current_xact_id()"))  # the older xid
        late_id = await late.events.add(AgentUpdated(agent_id="ag_late"))  # the newer xid
        early_id = await early.events.add(AgentUpdated(agent_id="ag_early"))
        await early.commit()
        assert late_id < early_id
        async with uow() as unit:
            _, last = await OutboxReader(unit.session).settled_after(position, 100, max_wait_s=0.2)
        assert last < late_id
        await late.commit()
    finally:
        await late.__aexit__(None, None, None)
        await early.__aexit__(None, None, None)


async def test_a_gap_that_commits_during_the_wait_is_inside_the_range(
    uow: UnitOfWorkFactory,
) -> None:
    """The range starts right above the position, not at the lowest id the read saw."""
    async with uow() as unit:
        position = await OutboxReader(unit.session).latest_id()
    slow = uow()
    await slow.__aenter__()
    try:
        late_id = await slow.events.add(AgentUpdated(agent_id="ag_late"))
        async with uow() as fast:
            early_id = await fast.events.add(AgentUpdated(agent_id="ag_fast"))
            await fast.commit()
        async with uow() as unit:
            settling = asyncio.create_task(
                OutboxReader(unit.session).settled_after(position, 100, max_wait_s=60)
            )
            await _until_reader_waits(uow, settling)
            await slow.commit()
            first, last = await settling
    finally:
        await slow.__aexit__(None, None, None)
    assert first <= late_id < early_id <= last
