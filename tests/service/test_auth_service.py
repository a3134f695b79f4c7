"""Challenge and session rules, with expiry judged by the store's clock instead of a wait."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.auth.service import IssuedSession
from server.domain.errors import NotFound, PermissionDenied, Unauthenticated
from tests.factories import session_signature
from tests.service.conftest import OPERATOR, World


async def test_a_signed_challenge_opens_a_session_once(world: World) -> None:
    agent, key = await world.register()
    challenge = await world.auth.create_challenge(agent.agent_id)
    assert challenge.expires_at == world.clock() + world.auth_ttl("challenge")
    session = await world.auth.create_session(
        challenge.challenge_id, session_signature(key, challenge.nonce)
    )
    assert session.agent_id == agent.agent_id
    assert (await world.auth.authenticate(session.token)).agent_id == agent.agent_id
    with pytest.raises(Unauthenticated):  # single use
        await world.auth.create_session(
            challenge.challenge_id, session_signature(key, challenge.nonce)
        )


async def _sign_in(
    world: World, agent_id: str, key: Ed25519PrivateKey, *, after_s: float = 0.0
) -> IssuedSession:
    """Challenge, let `after_s` pass on the clock, answer."""
    challenge = await world.auth.create_challenge(agent_id)
    world.clock.advance(after_s)
    signature = session_signature(key, challenge.nonce)
    return await world.auth.create_session(challenge.challenge_id, signature)


async def test_an_expired_challenge_is_refused(world: World) -> None:
    agent, key = await world.register()
    late = world.auth_ttl("challenge").total_seconds() + 0.5
    with pytest.raises(Unauthenticated) as caught:
        await _sign_in(world, agent.agent_id, key, after_s=late)
    assert caught.value.reason == "CHALLENGE_INVALID"


async def test_a_signature_by_another_key_is_refused(world: World) -> None:
    agent, _ = await world.register()
    with pytest.raises(Unauthenticated) as caught:
        await _sign_in(world, agent.agent_id, Ed25519PrivateKey.generate())
    assert caught.value.reason == "SIGNATURE_INVALID"


async def test_sessions_expire_and_end(world: World) -> None:
    agent, key = await world.register()
    session = await _sign_in(world, agent.agent_id, key)
    world.clock.advance(world.auth_ttl("session").total_seconds())
    with pytest.raises(Unauthenticated):
        await world.auth.authenticate(session.token)
    with pytest.raises(Unauthenticated):
        await world.auth.end_session(None)


async def test_unknown_and_suspended_agents_get_no_challenge(world: World) -> None:
    with pytest.raises(NotFound):
        await world.auth.create_challenge("ag_missing")
    agent, key = await world.register()
    challenge = await world.auth.create_challenge(agent.agent_id)
    await world.admin.suspend(OPERATOR, agent.agent_id, "spam")
    with pytest.raises(PermissionDenied):
        await world.auth.create_challenge(agent.agent_id)
    with pytest.raises(PermissionDenied):  # a challenge issued before the suspension
        await world.auth.create_session(
            challenge.challenge_id, session_signature(key, challenge.nonce)
        )
