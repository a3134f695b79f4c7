"""Keyset pages: newest first, no duplicates or gaps, filters respected."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import AgentRow
from db.uow import UnitOfWorkFactory
from server.domain.agents import Agent, AgentType
from server.domain.errors import InvalidArgument
from server.domain.ids import AGENT_PREFIX, new_id
from tests.integration.builders import profile, public_key


async def _walk(uow: UnitOfWorkFactory, limit: int, agent_type: AgentType | None) -> list[Agent]:
    seen: list[Agent] = []
    cursor: tuple[str, ...] | None = None
    pages = 0
    while True:
        async with uow() as work:
            page = await work.agents.list_page(limit, cursor, agent_type)
        assert len(page.items) <= limit
        seen.extend(page.items)
        pages += 1
        if page.next_cursor is None:
            return seen
        assert len(page.items) == limit
        cursor = page.next_cursor


@pytest.mark.parametrize("agent_type", [None, AgentType.ORCHESTRATOR])
async def test_pages_cover_everything_once(
    uow: UnitOfWorkFactory, agent_type: AgentType | None
) -> None:
    # Half in one transaction (identical created_at: the id must break ties).
    async with uow() as work:
        for _ in range(6):
            await work.agents.add(
                new_id(AGENT_PREFIX), profile(agent_type=AgentType.ORCHESTRATOR), public_key(), []
            )
        await work.commit()
    for kind in (AgentType.ORCHESTRATOR, AgentType.SERVICE) * 3:
        async with uow() as work:
            await work.agents.add(new_id(AGENT_PREFIX), profile(agent_type=kind), public_key(), [])
            await work.commit()

    listed = await _walk(uow, 4, agent_type)

    async with uow() as work:
        # Listings show active agents only (suspended ones are hidden).
        query = select(func.count()).select_from(AgentRow).where(AgentRow.state == "active")
        if agent_type is not None:
            query = query.where(AgentRow.agent_type == agent_type.value)
        total = await work.session.scalar(query)
    keys = [(a.created_at, a.agent_id) for a in listed]
    assert len(listed) == total and total is not None and total >= 9
    assert len(set(keys)) == len(keys)
    assert keys == sorted(keys, reverse=True)
    if agent_type is not None:
        assert {a.profile.agent_type for a in listed} == {agent_type}


async def test_empty_filter_has_no_next_page(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        page = await work.agents.list_page(10, None, AgentType.AUTONOMOUS)
    assert page.items == [] and page.next_cursor is None


async def test_malformed_cursor_is_invalid_argument(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        with pytest.raises(InvalidArgument):
            await work.agents.list_page(10, ("yesterday", "ag_x"), None)


async def test_capability_pages_in_id_order(uow: UnitOfWorkFactory) -> None:
    ids: list[str] = []
    cursor: tuple[str, ...] | None = None
    while True:
        async with uow() as work:
            page = await work.capabilities.list_page(7, cursor)
        ids.extend(c.capability_id for c in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(ids) >= 30
    assert ids == sorted(set(ids))
    async with uow() as work:
        assert await work.capabilities.missing(["sql", "nope"]) == {"nope"}
        capability = await work.capabilities.get("travel-booking")
    assert capability is not None and "book a flight" in capability.synonyms
