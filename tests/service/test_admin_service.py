"""Operator actions: audited moderation, and what a suspension or reinstatement ends or allows."""

from __future__ import annotations

import pytest

from server.auth.store import DELETED_EPOCH
from server.domain.agents import AgentState
from server.domain.api_keys import Plan, Scope
from server.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied
from server.domain.principal import Principal
from tests.service.conftest import OPERATOR, World, caller


async def _key(world: World, agent_id: str) -> tuple[str, bytes]:
    async with world.db() as uow:
        key = await uow.api_keys.add(
            "key_test", agent_id, "ci", b"hash", "ar_x", (Scope.READ,), Plan.FREE, None
        )
        await uow.commit()
    return key.key_id, b"hash"


async def test_suspension_ends_sessions_keys_and_streams(world: World) -> None:
    agent, _ = await world.register()
    _, key_hash = await _key(world, agent.agent_id)
    suspended = await world.admin.suspend(OPERATOR, agent.agent_id, " spam ")
    assert suspended.state is AgentState.SUSPENDED
    assert world.auth_store.epochs[agent.agent_id] == DELETED_EPOCH
    assert world.keys.forgotten == [key_hash]
    assert world.presence.withdrawn == [(agent.agent_id, AgentState.SUSPENDED)]
    event = world.db.tables.events[-1]
    assert (event.event_type, event.data["reason"]) == ("AGENT_SUSPENDED", "spam")


async def test_reinstatement_renews_the_epoch(world: World) -> None:
    agent, _ = await world.register()
    await world.admin.suspend(OPERATOR, agent.agent_id, "spam")
    reinstated = await world.admin.reinstate(OPERATOR, agent.agent_id, "appeal upheld")
    assert reinstated.state is AgentState.ACTIVE
    assert str(world.auth_store.epochs[agent.agent_id]).startswith("1:")


async def test_only_an_active_agent_is_verified(world: World) -> None:
    agent, _ = await world.register()
    assert (await world.admin.verify(OPERATOR, agent.agent_id, "known operator")).verified
    await world.admin.take_down(OPERATOR, agent.agent_id, "abuse")
    with pytest.raises(FailedPrecondition):
        await world.admin.verify(OPERATOR, agent.agent_id, "again")


async def test_moderation_needs_an_operator_and_a_reason(world: World) -> None:
    agent, _ = await world.register()
    with pytest.raises(PermissionDenied):
        await world.admin.suspend(caller(agent.agent_id), agent.agent_id, "self")
    with pytest.raises(InvalidArgument):
        await world.admin.suspend(OPERATOR, agent.agent_id, "   ")
    with pytest.raises(NotFound):
        await world.admin.suspend(OPERATOR, "ag_missing", "gone")
    assert world.db.tables.agents[agent.agent_id].state is AgentState.ACTIVE


async def test_plan_changes_are_audited_and_retire_the_cached_key(world: World) -> None:
    agent, _ = await world.register()
    key_id, key_hash = await _key(world, agent.agent_id)
    key = await world.admin.update_plan(OPERATOR, agent.agent_id, key_id, Plan.PRO, "upgrade")
    with pytest.raises(NotFound):
        await world.admin.update_plan(OPERATOR, "ag_other", key_id, Plan.PRO, "wrong agent")
    with pytest.raises(InvalidArgument):
        await world.admin.update_plan(OPERATOR, agent.agent_id, key_id, None, "no plan")
    assert key.plan is Plan.PRO
    assert world.keys.forgotten == [key_hash]
    assert world.db.tables.events[-1].event_type == "API_KEY_PLAN_CHANGED"


async def test_an_agent_admin_key_is_no_operator(world: World) -> None:
    admin_key = Principal(agent_id="ag_x", scopes=(Scope.ADMIN,))
    with pytest.raises(PermissionDenied):
        await world.admin.verify(admin_key, "ag_x", "self-verification")
