"""Rate limits by principal, tiers, forged forwarding headers and the Redis fallback."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
from agentregistry.v1 import registry_service_pb2
from google.rpc import error_details_pb2, status_pb2
from redis.asyncio import Redis
from sqlalchemy import text

from db.engine import create_engine
from server.backing import BackingServices, start_embedded_redis
from server.cache import keys
from server.settings import Settings
from tests.e2e.servers import Instance, instance
from tests.factories import error_details, login, register

BUDGETS = {
    "anonymous.read": "5/minute",
    "agent.read": "8/minute",
    "verified.read": "20/minute",
    "anonymous.write": "1000/minute",
}


def _limited_settings(backing: BackingServices, hops: int = 0, cache: bool = True) -> Settings:
    return Settings(
        grpc_port=0,
        database_url=backing.database_url,
        redis_url=backing.redis_url,
        rate_limits=json.dumps(BUDGETS),
        trusted_proxy_hops=hops,
        cache_enabled=cache,
    )


@pytest.fixture
async def limited(backing: BackingServices) -> AsyncIterator[Instance]:
    async with instance(_limited_settings(backing), backing) as server:
        yield server


async def _get(server: Instance, name: str, metadata: tuple[tuple[str, str], ...] = ()):
    call = server.registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=name), metadata=metadata
    )
    await call
    return dict(await call.trailing_metadata())


async def _exhaust(server: Instance, name: str, metadata: tuple[tuple[str, str], ...]) -> int:
    """Calls until refused (bounded); returns how many were allowed."""
    for allowed in range(100):
        try:
            await _get(server, name, metadata)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            return allowed
    raise AssertionError("never limited")


def _unique_ip() -> str:
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


@pytest.mark.parametrize("cache", [True, False], ids=["cached", "cache-off"])
async def test_budget_headers_and_retry_info(backing: BackingServices, cache: bool) -> None:
    """Counted once per call, whether the count rides on the cache lookup or, with the
    cache off, on the presence read."""
    async with instance(_limited_settings(backing, hops=1, cache=cache), backing) as server:
        agent = await register(server.registry)
        metadata = (("x-forwarded-for", _unique_ip()),)
        remaining = []
        for _ in range(5):
            headers = await _get(server, agent.name, metadata)
            assert headers["x-ratelimit-limit"] == "5"
            assert 0 < int(headers["x-ratelimit-reset"]) <= 60
            remaining.append(int(headers["x-ratelimit-remaining"]))
        assert remaining == [4, 3, 2, 1, 0]
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _get(server, agent.name, metadata)
        error = refused.value
        details = error_details(error)
        assert details.reason == "RATE_LIMITED"
        assert details.metadata == {"limit": "5", "tier": "anonymous", "methodClass": "read"}
        trailers = dict(error.trailing_metadata())
        assert trailers["x-ratelimit-remaining"] == "0"
        status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
        retry = error_details_pb2.RetryInfo()
        assert any(d.Unpack(retry) for d in status.details)
        assert retry.retry_delay.seconds > 0 or retry.retry_delay.nanos > 0


async def test_forged_forwarded_for_buys_nothing_without_trusted_hops(limited: Instance) -> None:
    """Exposed directly (no trusted proxy), the header is ignored: every forgery hits one bucket."""
    agent = await register(limited.registry)
    allowed = 0
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        for _ in range(20):
            await _get(limited, agent.name, (("x-forwarded-for", _unique_ip()),))
            allowed += 1
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert allowed <= 5


async def test_behind_a_proxy_only_the_trusted_hop_counts(backing: BackingServices) -> None:
    async with instance(_limited_settings(backing, hops=1), backing) as server:
        agent = await register(server.registry)
        client = _unique_ip()
        # The client forges a new left-hand value each time; the proxy appends the real address.
        forged = [(("x-forwarded-for", f"{_unique_ip()}, {client}"),) for _ in range(20)]
        allowed = 0
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            for metadata in forged:
                await _get(server, agent.name, metadata)
                allowed += 1
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and allowed == 5
        # Another real client behind the same proxy has its own budget.
        await _get(server, agent.name, (("x-forwarded-for", _unique_ip()),))


async def test_verified_agents_get_a_higher_tier(backing: BackingServices) -> None:
    async with instance(_limited_settings(backing), backing) as server:
        plain = await register(server.registry, server.auth)
        verified = await register(server.registry)
        engine = create_engine(backing.database_url, pool_size=1)
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE agents SET verified = true WHERE id = :id"),
                {"id": verified.name.removeprefix("agents/")},
            )
        await engine.dispose()
        await login(server.auth, verified)
        assert await _exhaust(server, plain.name, plain.metadata) == 8
        assert await _exhaust(server, verified.name, verified.metadata) == 20


async def test_redis_down_keeps_serving_with_per_process_limits(
    backing: BackingServices, tmp_path
) -> None:
    redis_url, handle = start_embedded_redis(tmp_path / "redis")
    own = BackingServices(backing.database_url, redis_url)
    settings = _limited_settings(own)
    async with instance(settings, own) as server:
        agent = await register(server.registry)
        await _get(server, agent.name)
        assert server.app.limiter is not None and not server.app.limiter.degraded
        handle.shutdown()
        headers = await _get(server, agent.name)  # still served, from Postgres
        assert server.app.limiter.degraded
        assert int(headers["x-ratelimit-remaining"]) == 4  # a fresh per-process budget
        assert await _exhaust(server, agent.name, ()) == 4


async def test_a_spent_budget_is_refused_before_the_cache_is_read(
    backing: BackingServices,
) -> None:
    """Cached reads count the call inside their lookup script: over budget, the script
    answers before it reads a value or takes a load lock, and nothing is stored."""
    async with instance(_limited_settings(backing, hops=1), backing) as server:
        read, unread = await register(server.registry), await register(server.registry)
        metadata = (("x-forwarded-for", _unique_ip()),)
        assert await _exhaust(server, read.name, metadata) == 5
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _get(server, unread.name, metadata)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        redis = Redis.from_url(backing.redis_url)
        try:
            unread_id = unread.name.removeprefix("agents/")
            assert await redis.keys(f"*cache:response:agent:{unread_id}*") == []
            assert await redis.keys(keys.response("agent", read.name.removeprefix("agents/")) + "*")
        finally:
            await redis.aclose()


async def test_calls_that_fail_before_the_lookup_still_count(backing: BackingServices) -> None:
    """A malformed name never reaches the lookup script; it still costs the budget, and
    once the budget is spent the refusal is what the caller hears."""
    async with instance(_limited_settings(backing, hops=1), backing) as server:
        agent = await register(server.registry)
        metadata = (("x-forwarded-for", _unique_ip()),)
        for _ in range(2):
            with pytest.raises(grpc.aio.AioRpcError) as bad:
                await _get(server, "agents/", metadata)
            assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert dict(bad.value.trailing_metadata())["x-ratelimit-limit"] == "5"
        assert await _exhaust(server, agent.name, metadata) == 3
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await _get(server, "agents/", metadata)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
