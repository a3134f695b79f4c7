"""The point reads behind cache misses (psycopg, their own pool) return exactly what the
ORM repositories return for the same rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from sqlalchemy import update

from db.models import AgentRow
from db.models.trust import AgentTrustRow, CapabilityTrustRow
from db.point_reads import PointReads
from db.uow import UnitOfWorkFactory
from server.domain.ids import AGENT_PREFIX, new_id
from tests.integration.builders import register


@pytest.fixture
async def reads(database_url: str) -> AsyncIterator[PointReads]:
    reads = PointReads(database_url, 2)
    await reads.open()
    yield reads
    await reads.close()


async def test_an_agent_reads_as_the_repository_reads_it(
    uow: UnitOfWorkFactory, reads: PointReads
) -> None:
    added = await register(
        uow,
        ("translation", "code-review"),
        metadata={"region": "eu", "tier": "gold"},
        tags=("a", "b"),
    )
    async with uow() as work:
        stored = await work.agents.get(added.agent_id)
    read = await reads.agent(added.agent_id)
    assert read == stored
    assert read is not None and read.capabilities == ("code-review", "translation")
    assert read.created_at.tzinfo is not None
    assert await reads.agent(new_id(AGENT_PREFIX)) is None


async def test_agents_asked_for_together_are_read_in_one_statement(
    uow: UnitOfWorkFactory, reads: PointReads
) -> None:
    first = await register(uow, ("translation",), tags=("first",))
    second = await register(uow, ("code-review",), tags=("second",))
    missing = new_id(AGENT_PREFIX)
    checkouts = reads._pool.get_stats().get("requests_num", 0)
    got = await asyncio.gather(
        reads.agent(first.agent_id),
        reads.agent(second.agent_id),
        reads.agent(first.agent_id),
        reads.agent(missing),
    )
    assert reads._pool.get_stats().get("requests_num", 0) == checkouts + 1
    assert [None if agent is None else agent.profile.tags for agent in got] == [
        ("first",),
        ("second",),
        ("first",),
        None,
    ]
    async with uow() as work:
        assert got[1] == await work.agents.get(second.agent_id)


async def test_what_is_asked_for_while_a_batch_is_out_leaves_as_the_next_one(
    uow: UnitOfWorkFactory, database_url: str
) -> None:
    agents = [await register(uow, ("translation",)) for _ in range(3)]
    reads = PointReads(database_url, 1)
    await reads.open()
    try:
        pool = reads._pool
        async with pool.connection():  # the only connection: the first batch waits for it
            first = asyncio.ensure_future(reads.agent(agents[0].agent_id))
            for _ in range(3):
                await asyncio.sleep(0)
            checkouts = pool.get_stats().get("requests_num", 0)
            later = []
            for agent in agents[1:]:  # asked in separate loop iterations
                later.append(asyncio.ensure_future(reads.agent(agent.agent_id)))
                for _ in range(3):
                    await asyncio.sleep(0)
            assert pool.get_stats().get("requests_num", 0) == checkouts  # all still waiting
        got = [await first, *[await read for read in later]]
        assert [agent.agent_id if agent else None for agent in got] == [
            agent.agent_id for agent in agents
        ]
        assert pool.get_stats().get("requests_num", 0) == checkouts + 1  # the two as one
    finally:
        await reads.close()


async def test_a_caller_that_gives_up_leaves_the_rest_of_its_batch_served(
    uow: UnitOfWorkFactory, reads: PointReads
) -> None:
    kept = await register(uow, ("translation",))
    dropped = asyncio.ensure_future(reads.agent(kept.agent_id))
    waiting = asyncio.ensure_future(reads.agent(kept.agent_id))
    await asyncio.sleep(0)  # both queued for the same batch
    dropped.cancel()
    agent = await waiting
    assert agent is not None and agent.agent_id == kept.agent_id
    assert dropped.cancelled()


async def test_a_failed_batch_fails_every_caller_in_it(database_url: str) -> None:
    reads = PointReads(database_url, 1)
    await reads.open()
    await reads.close()
    got = await asyncio.gather(
        reads.agent(new_id(AGENT_PREFIX)), reads.agent(new_id(AGENT_PREFIX)), return_exceptions=True
    )
    assert all(isinstance(error, psycopg.OperationalError) for error in got), got


async def test_a_reputation_reads_as_the_repository_reads_it(
    uow: UnitOfWorkFactory, reads: PointReads
) -> None:
    fresh = await register(uow, ("translation",))
    scored = await register(uow, ("translation",))
    async with uow() as work:
        work.session.add_all(
            [
                AgentTrustRow(
                    agent_id=scored.agent_id,
                    behaviour_average=81.5,
                    behaviour_claims=4,
                    distinct_attesters=3,
                    component_size=12,
                    component_seeded=True,
                    reachable_from_seed=True,
                    standing_score=64.0,
                    top_contributors=[fresh.agent_id],
                    top_contributions=[0.75],
                ),
                CapabilityTrustRow(
                    agent_id=scored.agent_id,
                    capability_id="translation",
                    positive_claims=3,
                    negative_claims=1,
                    weighted_support=0.5,
                    verified=False,
                ),
            ]
        )
        await work.commit()
    for agent in (fresh, scored):
        async with uow() as work:
            stored = await work.reputation.get(agent.agent_id)
        assert stored is not None
        assert await reads.reputation(agent.agent_id) == stored
    read = await reads.reputation(scored.agent_id)
    assert read is not None and read.component_size == 12 and len(read.capabilities) == 1

    async with uow() as work:  # taken down: no reputation (the statement's own literal)
        await work.session.execute(
            update(AgentRow).where(AgentRow.id == scored.agent_id).values(state="taken_down")
        )
        await work.commit()
    assert await reads.reputation(scored.agent_id) is None
    assert await reads.reputation(new_id(AGENT_PREFIX)) is None
