"""Domain claims: normalised, owner-only, and a failed proof changes nothing."""

from __future__ import annotations

import pytest

from server.domain.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from tests.service.conftest import World, caller


async def test_a_claim_is_normalised_and_retires_cached_reads(world: World) -> None:
    agent, _ = await world.register()
    claimed = await world.domains.claim(
        caller(agent.agent_id), agent.agent_id, " Agents.Example.COM. "
    )
    assert claimed.domain == "agents.example.com" and claimed.domain_verified_at is None
    assert f"cache:gen:agent:{agent.agent_id}" in world.cache.bumped


async def test_claims_are_checked_and_owner_only(world: World) -> None:
    agent, _ = await world.register()
    other, _ = await world.register()
    with pytest.raises(InvalidArgument):
        await world.domains.claim(caller(agent.agent_id), agent.agent_id, "not a domain")
    with pytest.raises(PermissionDenied):
        await world.domains.claim(caller(other.agent_id), agent.agent_id, "example.com")
    assert world.db.tables.agents[agent.agent_id].domain == ""


async def test_verify_needs_a_claim_and_a_proof(world: World) -> None:
    agent, _ = await world.register()
    owner = caller(agent.agent_id)
    with pytest.raises(FailedPrecondition):
        await world.domains.verify(owner, agent.agent_id)
    await world.domains.claim(owner, agent.agent_id, "127.0.0.1:9")  # nothing listens there
    with pytest.raises(FailedPrecondition) as caught:
        await world.domains.verify(owner, agent.agent_id)
    assert caught.value.reason == "DOMAIN_PROOF_FAILED"
    assert world.db.tables.agents[agent.agent_id].domain_verified_at is None
    assert [e.event_type for e in world.db.tables.events] == ["AGENT_REGISTERED"]
