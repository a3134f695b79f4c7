"""CacheAside against the run's real Redis: one load per miss, generations, locks released;
also as search responses use it, behind their own lookup."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence

import pytest
from agentregistry.v1 import resources_pb2, search_service_pb2
from redis.asyncio import Redis

from server.backing import BackingServices
from server.cache.aside import CacheAside
from server.cache.keys import request_response as request_key
from server.cache.responses import CachedResponses, Live


@pytest.fixture
async def redis(backing: BackingServices) -> AsyncIterator[Redis]:
    client = Redis.from_url(backing.redis_url)
    yield client
    await client.aclose()


class Loads:
    """A load that counts its calls and answers after a pause, as a slow query would."""

    def __init__(self, value: bytes | None, pause_s: float = 0.0) -> None:
        self.value = value
        self.pause_s = pause_s
        self.calls = 0

    async def __call__(self) -> bytes | None:
        self.calls += 1
        await asyncio.sleep(self.pause_s)
        return self.value


def _keys() -> tuple[str, str]:
    name = uuid.uuid4().hex
    return f"test:value:{name}", f"test:gen:{name}"


async def test_concurrent_misses_load_once_and_later_reads_hit(redis: Redis) -> None:
    cache = CacheAside(redis)
    key, generation = _keys()
    load = Loads(b"row", pause_s=0.1)
    values = await asyncio.gather(*(cache.get_or_load(key, generation, 60, load) for _ in range(8)))
    assert values == [b"row"] * 8
    assert load.calls == 1
    assert await cache.get_or_load(key, generation, 60, load) == b"row"
    assert load.calls == 1
    assert not await redis.keys("lock:test:value:*")


async def test_a_bump_makes_the_next_read_load_again(redis: Redis) -> None:
    cache = CacheAside(redis)
    key, generation = _keys()
    await cache.get_or_load(key, generation, 60, Loads(b"old"))
    await cache.bump(generation)
    assert await cache.get_or_load(key, generation, 60, Loads(b"new")) == b"new"


async def test_a_value_under_two_generations_is_retired_by_either(redis: Redis) -> None:
    cache = CacheAside(redis)
    key, own = _keys()
    shared = f"{own}:shared"
    await cache.get_or_load(key, [own, shared], 60, Loads(b"first"))
    assert await cache.get_or_load(key, [own, shared], 60, Loads(b"unused")) == b"first"
    await cache.bump(shared)
    assert await cache.get_or_load(key, [own, shared], 60, Loads(b"second")) == b"second"
    await cache.bump(own)
    assert await cache.get_or_load(key, [own, shared], 60, Loads(b"third")) == b"third"
    assert await cache.get_or_load(key, [own, shared], 60, Loads(b"unused")) == b"third"


async def test_nothing_found_is_not_cached_and_frees_the_lock_at_once(redis: Redis) -> None:
    cache = CacheAside(redis)
    key, generation = _keys()
    assert await cache.get_or_load(key, generation, 60, Loads(None)) is None
    # The lock is gone, so the next caller loads at once rather than polling for a value.
    again = Loads(b"created")
    assert await asyncio.wait_for(cache.get_or_load(key, generation, 60, again), 0.2) == b"created"
    assert again.calls == 1


async def test_a_failed_load_frees_the_lock(redis: Redis) -> None:
    cache = CacheAside(redis)
    key, generation = _keys()

    async def failing() -> bytes | None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await cache.get_or_load(key, generation, 60, failing)
    assert await asyncio.wait_for(cache.get_or_load(key, generation, 60, Loads(b"x")), 0.2) == b"x"


class NoPresence:
    """Presence with no live state: search responses keep the stored status."""

    state_key = "test:presence:none"

    async def live(self, agent_ids: list[str]) -> list[Live]:
        return [None] * len(agent_ids)

    def live_from(self, raws: Sequence[bytes | None]) -> list[Live]:
        return [None] * len(raws)


async def test_search_responses_share_one_load_from_their_own_lookup(redis: Redis) -> None:
    """CachedResponses looks up (and locks a miss) with its own script, then hands the
    miss to CacheAside: still one build for many callers, then hits."""
    responses = CachedResponses(CacheAside(redis), NoPresence())
    request = search_service_pb2.SearchAgentsRequest(query=uuid.uuid4().hex)
    built = search_service_pb2.SearchAgentsResponse(total_size_estimate=1)
    built.results.add().agent.name = "agents/ag_one"
    calls = 0

    async def build() -> search_service_pb2.SearchAgentsResponse:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.1)
        return built

    def serve() -> Awaitable[search_service_pb2.SearchAgentsResponse]:
        return responses.serve(
            request_key("search", request),
            ("test:gen:search",),
            60,
            search_service_pb2.SearchAgentsResponse,
            build,
            _agents,
        )

    assert await asyncio.gather(*(serve() for _ in range(8))) == [built] * 8
    assert calls == 1
    assert await serve() == built
    assert calls == 1
    assert not await redis.keys("lock:cache:response:*")


def _agents(response: search_service_pb2.SearchAgentsResponse) -> list[resources_pb2.Agent]:
    return [result.agent for result in response.results]


class HeldLoad:
    """A load that has begun and answers `value` once released."""

    def __init__(self, value: bytes | None) -> None:
        self.value = value
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self) -> bytes | None:
        self.started.set()
        await self.release.wait()
        return self.value


async def _miss_behind(
    cache: CacheAside, held: HeldLoad, waiter_load: Loads
) -> tuple[asyncio.Task[bytes | None], list[asyncio.Task[bytes | None]]]:
    """A first caller holding the load of a fresh key, and three more that missed the key
    after that load began."""
    key, generation = _keys()
    first = asyncio.create_task(cache.get_or_load(key, generation, 60, held))
    await held.started.wait()
    others = [
        asyncio.create_task(cache.get_or_load(key, generation, 60, waiter_load)) for _ in range(3)
    ]
    for _ in range(1000):  # until their lookups are done
        if cache.misses == 4:
            break
        await asyncio.sleep(0.005)
    assert cache.misses == 4
    return first, others


async def test_callers_waiting_on_a_load_that_goes_away_load_themselves(redis: Redis) -> None:
    """The first caller's request is cancelled mid-load: the callers that joined its miss
    are not cancelled with it, and each gets the value."""
    cache = CacheAside(redis)
    first, others = await _miss_behind(cache, HeldLoad(b"never"), Loads(b"row"))
    first.cancel()
    assert await asyncio.wait_for(asyncio.gather(*others), 2) == [b"row"] * 3
    with pytest.raises(asyncio.CancelledError):
        await first
    assert not await redis.keys("lock:test:value:*")


async def test_waiters_in_the_loading_process_are_handed_its_answer(redis: Redis) -> None:
    """Even "not found", which is never stored: without the hand-over they would poll
    Redis for a value that never comes, then each load it again."""
    cache = CacheAside(redis)
    held, again = HeldLoad(None), Loads(b"loaded again")
    first, others = await _miss_behind(cache, held, again)
    held.release.set()
    assert await asyncio.wait_for(asyncio.gather(first, *others), 5) == [None] * 4
    assert again.calls == 0


async def test_a_load_outliving_its_lock_beside_the_next_holder_answers_both(
    redis: Redis,
) -> None:
    """A load slower than the lock (Postgres restarting): the lock expires, another caller
    of this process takes it and loads too. Both are answered; the first to finish does
    not take the other's hand-over with it (it raised KeyError, an INTERNAL, before)."""
    cache = CacheAside(redis)
    key, generation = _keys()
    slow, quick = HeldLoad(b"slow"), Loads(b"quick")
    first = asyncio.ensure_future(cache.load_missed(key, generation, True, 60, slow))
    await slow.started.wait()
    assert await cache.load_missed(key, generation, True, 60, quick) == b"quick"
    slow.release.set()
    assert await asyncio.wait_for(first, 5) == b"slow"
