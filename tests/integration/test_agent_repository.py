"""AgentRepository round trips against a real database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import AgentRow
from db.uow import UnitOfWorkFactory
from server.domain.agents import AgentType
from server.domain.errors import AlreadyExists, Conflict, NotFound
from server.domain.events import AgentDeleted
from server.domain.ids import AGENT_PREFIX, new_id
from tests.integration.builders import agent_count, profile, public_key, register


async def test_add_then_get_round_trips(uow: UnitOfWorkFactory) -> None:
    key = public_key()
    async with uow() as work:
        added = await work.agents.add(
            new_id(AGENT_PREFIX),
            profile(display_name="Round Trip", metadata={"region": "eu"}, tags=("a", "b")),
            key,
            ["translation", "code-review"],
        )
        await work.commit()
    async with uow() as work:
        loaded = await work.agents.get(added.agent_id)
    assert loaded == added
    assert loaded.public_key == key
    assert loaded.capabilities == ("code-review", "translation")
    assert loaded.profile.metadata == {"region": "eu"}
    assert loaded.profile.tags == ("a", "b")
    assert loaded.key_version == 1
    assert loaded.created_at.tzinfo is not None


async def test_get_unknown_is_none(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        assert await work.agents.get(new_id(AGENT_PREFIX)) is None


async def test_uncommitted_work_is_rolled_back(uow: UnitOfWorkFactory) -> None:
    agent_id = new_id(AGENT_PREFIX)
    async with uow() as work:
        await work.agents.add(agent_id, profile(), public_key(), [])
    async with uow() as work:
        assert await work.agents.get(agent_id) is None


async def test_duplicate_public_key_writes_nothing(uow: UnitOfWorkFactory) -> None:
    first = await register(uow)
    before = await agent_count(uow, "email")
    agent_id = new_id(AGENT_PREFIX)
    async with uow() as work:
        with pytest.raises(AlreadyExists) as caught:
            await work.agents.add(agent_id, profile(), first.public_key, ["email"])
        await work.commit()  # even a commit after the error must not leave rows behind
    assert caught.value.reason == "PUBLIC_KEY_TAKEN"
    async with uow() as work:
        assert await work.agents.get(agent_id) is None
    assert await agent_count(uow, "email") == before


async def test_unknown_capability_leaves_no_agent(uow: UnitOfWorkFactory) -> None:
    agent_id = new_id(AGENT_PREFIX)
    async with uow() as work:
        with pytest.raises(NotFound) as caught:
            await work.agents.add(agent_id, profile(), public_key(), ["email", "no-such-thing"])
        await work.commit()
    assert caught.value.reason == "CAPABILITY_NOT_FOUND"
    async with uow() as work:
        assert await work.agents.get(agent_id) is None


async def test_update_changes_profile_and_bumps_updated_at(uow: UnitOfWorkFactory) -> None:
    agent = await register(uow)
    new_profile = profile(display_name="Renamed", agent_type=AgentType.TOOL, tags=("x",))
    async with uow() as work:
        assert await work.agents.lock(agent.agent_id) is not None
        updated = await work.agents.update(agent.agent_id, new_profile)
        await work.commit()
    assert updated.profile == new_profile
    assert updated.updated_at > agent.updated_at
    assert updated.created_at == agent.created_at


async def test_update_unknown_is_not_found(uow: UnitOfWorkFactory) -> None:
    async with uow() as work:
        assert await work.agents.lock(new_id(AGENT_PREFIX)) is None
        with pytest.raises(NotFound):
            await work.agents.update(new_id(AGENT_PREFIX), profile())


async def test_capabilities_keep_counts_right(uow: UnitOfWorkFactory) -> None:
    before = {c: await agent_count(uow, c) for c in ("sql", "devops")}
    agent = await register(uow, ("sql",))
    assert await agent_count(uow, "sql") == before["sql"] + 1

    async with uow() as work:
        added = await work.agents.add_capability(agent.agent_id, "devops")
        await work.commit()
    assert added.capabilities == ("devops", "sql")
    assert await agent_count(uow, "devops") == before["devops"] + 1

    async with uow() as work:
        with pytest.raises(AlreadyExists) as duplicate:
            await work.agents.add_capability(agent.agent_id, "devops")
        with pytest.raises(NotFound) as unknown:
            await work.agents.add_capability(agent.agent_id, "no-such-thing")
    assert duplicate.value.reason == "CAPABILITY_ALREADY_ADDED"
    assert unknown.value.reason == "CAPABILITY_NOT_FOUND"
    assert await agent_count(uow, "devops") == before["devops"] + 1

    async with uow() as work:
        removed = await work.agents.remove_capability(agent.agent_id, "sql")
        await work.commit()
    assert removed.capabilities == ("devops",)
    assert await agent_count(uow, "sql") == before["sql"]

    async with uow() as work:
        with pytest.raises(NotFound) as not_offered:
            await work.agents.remove_capability(agent.agent_id, "sql")
    assert not_offered.value.reason == "CAPABILITY_NOT_OFFERED"


async def test_rotate_key_is_conditional(uow: UnitOfWorkFactory) -> None:
    agent = await register(uow)
    other = await register(uow)
    new_key = public_key()
    async with uow() as work:
        rotated = await work.agents.rotate_key(agent.agent_id, agent.public_key, new_key)
        await work.commit()
    assert rotated.public_key == new_key
    assert rotated.key_version == 2

    async with uow() as work:  # a second rotation from the stale key loses
        with pytest.raises(Conflict) as stale:
            await work.agents.rotate_key(agent.agent_id, agent.public_key, public_key())
    assert stale.value.reason == "PUBLIC_KEY_MISMATCH"

    async with uow() as work:  # someone else's key is refused, and the session stays usable
        with pytest.raises(AlreadyExists) as taken:
            await work.agents.rotate_key(agent.agent_id, new_key, other.public_key)
        still = await work.agents.get(agent.agent_id)
    assert taken.value.reason == "PUBLIC_KEY_TAKEN"
    assert still is not None and still.public_key == new_key and still.key_version == 2

    async with uow() as work:
        with pytest.raises(NotFound):
            await work.agents.rotate_key(new_id(AGENT_PREFIX), new_key, public_key())


async def test_delete_cascades_and_decrements(uow: UnitOfWorkFactory) -> None:
    before = await agent_count(uow, "weather")
    agent = await register(uow, ("weather",))
    async with uow() as work:
        assert await work.agents.delete(agent.agent_id)
        await work.events.add(AgentDeleted(agent_id=agent.agent_id))
        await work.commit()
    assert await agent_count(uow, "weather") == before
    async with uow() as work:
        assert await work.agents.get(agent.agent_id) is None
        assert not await work.agents.delete(agent.agent_id)
        events = await work.events.list_after(0, 100, agent_id=agent.agent_id)
    assert [e.event_type for e in events] == ["AGENT_DELETED"]


async def test_search_vector_follows_profile_and_capabilities(uow: UnitOfWorkFactory) -> None:
    agent = await register(uow, display_name="Zephyrine Courier", description="parcels")

    async def matches(query: str) -> bool:
        async with uow() as work:
            found = await work.session.scalar(
                select(func.count())
                .select_from(AgentRow)
                .where(
                    AgentRow.id == agent.agent_id,
                    AgentRow.search_vector.op("@@")(func.to_tsquery("english", query)),
                )
            )
        return bool(found)

    assert await matches("zephyrine")
    assert await matches("parcel")
    assert not await matches("weather")

    async with uow() as work:
        await work.agents.add_capability(agent.agent_id, "weather")
        await work.commit()
    assert await matches("weather")

    async with uow() as work:
        await work.agents.update(agent.agent_id, profile(display_name="Quillon Dispatch"))
        await work.agents.remove_capability(agent.agent_id, "weather")
        await work.commit()
    assert await matches("quillon")
    assert not await matches("zephyrine")
    assert not await matches("weather")
