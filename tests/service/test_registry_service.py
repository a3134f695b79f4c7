"""Registry use cases: validation, ownership, etags, outbox events and what follows commit."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.auth.store import ANY_SESSION, DELETED_EPOCH
from server.cache.keys import AGENTS_GENERATION, CATALOG_GENERATION, agent_generation
from server.domain.agents import AgentProfile, AgentType
from server.domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)
from server.domain.names import agent_name
from server.registry.etag import agent_etag
from tests.factories import raw_public_key, rotate_message
from tests.service.conftest import OPERATOR, World, caller


def _event_types(world: World) -> list[str]:
    return [e.event_type for e in world.db.tables.events]


async def test_register_records_the_agent_and_its_event(world: World) -> None:
    agent, key = await world.register(capabilities=["translation"], name="  Padded  ")
    stored = world.db.tables.agents[agent.agent_id]
    assert stored.profile.display_name == "Padded"
    assert stored.public_key == raw_public_key(key)
    assert stored.capabilities == ("translation",)
    assert world.db.tables.capabilities["translation"].agent_count == 1
    assert _event_types(world) == ["AGENT_REGISTERED"]
    assert {agent_generation(agent.agent_id), AGENTS_GENERATION} <= set(world.cache.bumped)
    assert CATALOG_GENERATION in world.cache.bumped  # it offers a capability


async def test_register_reports_every_field_problem_at_once(world: World) -> None:
    with pytest.raises(InvalidArgument) as caught:
        await world.registry.register(
            AgentProfile(display_name="", agent_type=None), b"short", b"bad", []
        )
    fields = {v.field for v in caught.value.violations}
    assert {"agent.display_name", "public_key", "signature"} <= fields
    assert world.db.tables.agents == {} and world.db.commits == 0


async def test_register_refuses_a_signature_by_another_key(world: World) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    with pytest.raises(InvalidArgument):
        await world.registry.register(
            AgentProfile(display_name="x", agent_type=AgentType.TOOL),
            raw_public_key(key),
            other.sign(b"agentregistry.v1.CreateAgent\n" + raw_public_key(key)),
            [],
        )
    assert world.db.tables.agents == {}


async def test_a_key_registers_once_and_an_unknown_capability_not_at_all(world: World) -> None:
    _, key = await world.register()
    with pytest.raises(AlreadyExists):
        await world.register(key)
    with pytest.raises(NotFound):
        await world.register(capabilities=["no-such-capability"])
    assert len(world.db.tables.agents) == 1
    assert _event_types(world) == ["AGENT_REGISTERED"]


async def test_update_applies_the_mask_only_and_checks_the_etag(world: World) -> None:
    agent, _ = await world.register(name="Before")
    owner = caller(agent.agent_id)
    with pytest.raises(Conflict):
        await world.registry.update(
            owner, agent.agent_id, {"display_name": "x"}, ["display_name"], etag='"stale"'
        )
    world.clock.advance(5)
    updated = await world.registry.update(
        owner,
        agent.agent_id,
        {"display_name": "After", "description": "ignored"},
        ["display_name"],
        etag=agent_etag(agent),
    )
    assert updated.profile.display_name == "After"
    assert updated.profile.description == ""
    assert updated.updated_at == world.clock()
    assert agent_etag(updated) != agent_etag(agent)
    assert _event_types(world) == ["AGENT_REGISTERED", "AGENT_UPDATED"]


async def test_update_drops_the_card_the_profile_no_longer_matches(world: World) -> None:
    agent, _ = await world.register()
    world.db.tables.cards[agent.agent_id] = {"name": "card"}
    await world.registry.update(
        caller(agent.agent_id), agent.agent_id, {"description": "new"}, ["description"], ""
    )
    assert agent.agent_id not in world.db.tables.cards


async def test_only_the_owner_writes(world: World) -> None:
    agent, _ = await world.register()
    other, _ = await world.register()
    with pytest.raises(Unauthenticated):
        await world.registry.delete(None, agent.agent_id)
    with pytest.raises(PermissionDenied):
        await world.registry.delete(caller(other.agent_id), agent.agent_id)
    assert agent.agent_id in world.db.tables.agents


async def test_a_rolled_back_write_leaves_nothing_and_runs_no_effects(world: World) -> None:
    agent, _ = await world.register()
    bumped = list(world.cache.bumped)

    async def fails(uow: object, agent_id: str) -> None:
        raise RuntimeError("the card write failed")

    with pytest.raises(RuntimeError):
        await world.registry.update(
            caller(agent.agent_id),
            agent.agent_id,
            {"display_name": "New"},
            ["display_name"],
            "",
            with_agent=fails,
        )
    assert world.db.tables.agents[agent.agent_id].profile.display_name == "Test Agent"
    assert _event_types(world) == ["AGENT_REGISTERED"]
    assert world.cache.bumped == bumped


async def test_delete_ends_sessions_and_presence_and_hides_the_agent(world: World) -> None:
    agent, _ = await world.register(capabilities=["translation"])
    owner = caller(agent.agent_id)
    await world.registry.delete(owner, agent.agent_id)
    with pytest.raises(NotFound):
        await world.registry.delete(owner, agent.agent_id)
    assert world.auth_store.epochs[agent.agent_id] == DELETED_EPOCH
    assert world.presence.forgotten == [agent.agent_id]
    assert world.db.tables.capabilities["translation"].agent_count == 0
    with pytest.raises(NotFound):
        await world.registry.get(agent.agent_id)


async def test_rotate_key_needs_both_signatures_and_moves_the_epoch(world: World) -> None:
    agent, key = await world.register()
    new = Ed25519PrivateKey.generate()
    message = rotate_message(agent_name(agent.agent_id), raw_public_key(key), raw_public_key(new))
    with pytest.raises(InvalidArgument):
        await world.registry.rotate_key(
            agent.agent_id, raw_public_key(new), new.sign(message), new.sign(message)
        )
    rotated = await world.registry.rotate_key(
        agent.agent_id, raw_public_key(new), key.sign(message), new.sign(message)
    )
    assert rotated.key_version == 2 and rotated.public_key == raw_public_key(new)
    assert world.auth_store.epochs[agent.agent_id] == 2
    assert world.presence.revoked == [(agent.agent_id, ANY_SESSION)]


async def test_rotating_to_a_key_in_use_is_refused(world: World) -> None:
    agent, key = await world.register()
    _, taken = await world.register()
    message = rotate_message(agent_name(agent.agent_id), raw_public_key(key), raw_public_key(taken))
    with pytest.raises(AlreadyExists):
        await world.registry.rotate_key(
            agent.agent_id, raw_public_key(taken), key.sign(message), taken.sign(message)
        )


async def test_capabilities_are_added_once_and_removed_once(world: World) -> None:
    agent, _ = await world.register()
    owner = caller(agent.agent_id)
    added = await world.registry.add_capability(owner, agent.agent_id, "translation")
    assert added.capabilities == ("translation",)
    with pytest.raises(AlreadyExists):
        await world.registry.add_capability(owner, agent.agent_id, "translation")
    with pytest.raises(NotFound):
        await world.registry.add_capability(owner, agent.agent_id, "no-such-capability")
    removed = await world.registry.remove_capability(owner, agent.agent_id, "translation")
    assert removed.capabilities == ()
    with pytest.raises(NotFound):
        await world.registry.remove_capability(owner, agent.agent_id, "translation")
    assert world.db.tables.capabilities["translation"].agent_count == 0


async def test_list_agents_pages_newest_first_by_type(world: World) -> None:
    made = []
    for _ in range(5):
        made.append((await world.register(agent_type=AgentType.TOOL))[0].agent_id)
        world.clock.advance(1)
    await world.register(agent_type=AgentType.SERVICE)
    seen: list[str] = []
    token = ""
    while True:
        page, token = await world.registry.list_agents(2, token, AgentType.TOOL)
        seen += [a.agent_id for a in page]
        if not token:
            break
    assert seen == made[::-1]
    with pytest.raises(InvalidArgument):
        await world.registry.list_agents(2, token or "not-a-token", AgentType.TOOL)


async def test_a_taken_down_agent_reads_as_not_found(world: World) -> None:
    agent, _ = await world.register()
    await world.admin.take_down(OPERATOR, agent.agent_id, "abuse")
    with pytest.raises(NotFound):
        await world.registry.get(agent.agent_id)
    page, _ = await world.registry.list_agents(10, "", None)
    assert page == []


async def test_capability_catalog_pages_by_id(world: World) -> None:
    first, token = await world.registry.list_capabilities(3, "")
    second, _ = await world.registry.list_capabilities(3, token)
    ids = [c.capability_id for c in first + second]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert (await world.registry.get_capability("translation")).display_name == "Translation"
    with pytest.raises(NotFound):
        await world.registry.get_capability("nope")


async def test_concurrent_rotations_do_not_both_win(world: World) -> None:
    """The repository swaps the key only if it is still the expected one."""
    agent, _ = await world.register()
    async with world.db() as uow:
        with pytest.raises(Conflict):
            await uow.agents.rotate_key(agent.agent_id, b"\x00" * 32, b"\x01" * 32)
