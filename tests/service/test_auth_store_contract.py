"""The session store the service tests use (tests/service/fakes.py) against the Redis one:
the same checks on both, so the fake's challenges, sessions and epochs keep to Redis's.

Expiry is the one thing checked differently: the fake's clock is moved past the TTL;
on Redis the key is shown to carry that TTL, so nothing waits for it to pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from server.auth.store import _CHALLENGE, DELETED_EPOCH, AuthStore, _token_key
from server.domain.ids import AGENT_PREFIX, new_id
from tests.service.fakes import FakeAuthStore, FakeClock


@dataclass
class Store:
    store: AuthStore | FakeAuthStore
    # Passes if what `key` names is gone once `ttl_s` has passed.
    expires_after: Callable[[str, int], Awaitable[None]]


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.backing)])
async def auth_store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        clock = FakeClock()
        fake = FakeAuthStore(clock)

        async def moved_past(key: str, ttl_s: int) -> None:
            clock.advance(ttl_s)

        yield Store(fake, moved_past)
        return
    redis = Redis.from_url(request.getfixturevalue("backing").redis_url)

    async def carries_ttl(key: str, ttl_s: int) -> None:
        assert 0 < await redis.pttl(key) <= ttl_s * 1000

    yield Store(AuthStore(redis), carries_ttl)
    await redis.aclose()


async def test_a_challenge_is_taken_once(auth_store: Store) -> None:
    store = auth_store.store
    agent_id = new_id(AGENT_PREFIX)
    challenge_id, nonce = await store.put_challenge(agent_id, 60)
    assert len(nonce) == 32
    taken = await store.take_challenge(challenge_id)
    assert taken is not None and (taken.agent_id, taken.nonce) == (agent_id, nonce)
    assert await store.take_challenge(challenge_id) is None
    assert await store.take_challenge("unknown") is None


async def test_a_challenge_expires_with_its_ttl(auth_store: Store) -> None:
    store = auth_store.store
    challenge_id, _ = await store.put_challenge(new_id(AGENT_PREFIX), 30)
    await auth_store.expires_after(_CHALLENGE.format(challenge_id), 30)
    if isinstance(store, FakeAuthStore):
        assert await store.take_challenge(challenge_id) is None


async def test_a_session_expires_with_its_ttl(auth_store: Store) -> None:
    store = auth_store.store
    token = await store.put_session(new_id(AGENT_PREFIX), 1, 120)
    await auth_store.expires_after(_token_key(token), 120)
    if isinstance(store, FakeAuthStore):
        assert await store.get_session(token) is None


async def test_sessions_end_with_delete_and_with_the_epoch(auth_store: Store) -> None:
    store = auth_store.store
    agent_id = new_id(AGENT_PREFIX)
    token = await store.put_session(agent_id, 1, 60, verified=True)
    session = await store.get_session(token)
    assert session is not None and (session.agent_id, session.verified) == (agent_id, True)
    ended = await store.delete_session(token)
    assert ended is not None and ended[0] == agent_id
    assert await store.get_session(token) is None
    assert await store.delete_session(token) is None

    old = await store.put_session(agent_id, 1, 60)
    await store.set_epoch(agent_id, 2)  # the key rotated: sessions of version 1 end
    assert await store.get_session(old) is None
    current = await store.put_session(agent_id, 2, 60)
    assert await store.get_session(current) is not None
    await store.set_epoch(agent_id, DELETED_EPOCH)
    assert await store.get_session(current) is None


async def test_a_renewed_epoch_admits_only_new_sessions(auth_store: Store) -> None:
    store = auth_store.store
    agent_id = new_id(AGENT_PREFIX)
    before = await store.put_session(agent_id, 1, 60)
    await store.set_epoch(agent_id, DELETED_EPOCH)
    await store.renew_epoch(agent_id, 1)
    assert await store.get_session(before) is None
    after = await store.put_session(agent_id, 1, 60)
    assert await store.get_session(after) is not None
