"""admit.lua (the session check inside presence scripts) agrees with AuthStore.get_session
on every state a session and its agent's epoch can be in."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from server.auth.store import DELETED_EPOCH, EPOCH_KEY, AuthStore, admit_check
from server.backing import BackingServices
from server.hot import scripts

# The check alone: answers its verdict and agent.
_CHECK_ONLY = scripts.text("admit") + "local verdict, agent = admit()\nreturn {verdict, agent}"


@pytest.fixture
async def redis(backing: BackingServices) -> AsyncIterator[Redis]:
    client = Redis.from_url(backing.redis_url)
    yield client
    await client.aclose()


async def _admitted(redis: Redis, token: str) -> str | None:
    check = admit_check(token, None)
    verdict, agent = await redis.eval(_CHECK_ONLY, 1, check.session_key, *check.args)
    return agent.decode() if verdict == b"ok" else None


async def _legacy_session(store: AuthStore, redis: Redis, agent_id: str) -> str:
    """A session minted before sessions kept their epoch: no `epoch` field."""
    token = await store.put_session(agent_id, 1, 60)
    key = admit_check(token, None).session_key
    data = json.loads(await redis.get(key))
    del data["epoch"]
    await redis.set(key, json.dumps(data), ex=60)
    return token


Step = Callable[[AuthStore, str], Awaitable[None]]


async def _nothing(store: AuthStore, agent_id: str) -> None:
    return None


async def _rotate(store: AuthStore, agent_id: str) -> None:
    await store.set_epoch(agent_id, 2)


async def _delete(store: AuthStore, agent_id: str) -> None:
    await store.set_epoch(agent_id, DELETED_EPOCH)


async def _suspend_and_reinstate(store: AuthStore, agent_id: str) -> None:
    await store.set_epoch(agent_id, DELETED_EPOCH)
    await store.renew_epoch(agent_id, 1)


@pytest.mark.parametrize("legacy", [False, True])
@pytest.mark.parametrize("step", [_nothing, _rotate, _delete, _suspend_and_reinstate])
async def test_the_script_and_the_store_agree(redis: Redis, step: Step, legacy: bool) -> None:
    store = AuthStore(redis)
    agent_id = f"ag_test{uuid.uuid4().hex[:12]}"
    old = await (
        _legacy_session(store, redis, agent_id) if legacy else store.put_session(agent_id, 1, 60)
    )
    await step(store, agent_id)
    new = await store.put_session(agent_id, 1, 60)  # minted after the step, as key version 1
    for token in (old, new):
        found = await store.get_session(token)
        assert await _admitted(redis, token) == (found.agent_id if found else None)
    assert await _admitted(redis, uuid.uuid4().hex) is None  # no such session
    await redis.delete(EPOCH_KEY.format(agent_id))
    assert await _admitted(redis, new) is None and await store.get_session(new) is None
