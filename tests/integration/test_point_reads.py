"""The point reads behind cache misses (psycopg, their own pool) return exactly what the
ORM repositories return for the same rows."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
