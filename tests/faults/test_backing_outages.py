"""Postgres and Redis go away mid-traffic and come back: UNAVAILABLE meanwhile, never
INTERNAL; readiness says NOT_SERVING; the same server recovers without a restart
and every acknowledged write is there."""

from __future__ import annotations

import asyncio

from agentregistry.v1 import (
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
)
from google.protobuf import field_mask_pb2
from grpc_health.v1 import health_pb2
from sqlalchemy import text

from db.engine import create_engine
from server.backing import BackingServices
from tests.e2e.servers import Instance, instance
from tests.factories import AgentHandle, register
from tests.faults.backing import FaultPostgres, FaultRedis, fault_settings
from tests.faults.traffic import Seen, readiness, run, until_ok, until_seen, wait_for_readiness

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
# Calls the traffic must have ended so, before, during and after an outage.
TRAFFIC_CALLS = 10


async def _stored(backing: BackingServices, names: list[str]) -> set[str]:
    engine = create_engine(backing.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT a.id FROM agents a JOIN events e ON e.agent_id = a.id"
                    " AND e.event_type = 'AGENT_REGISTERED' WHERE a.id = ANY(:ids)"
                ),
                {"ids": [name.removeprefix("agents/") for name in names]},
            )
            return {f"agents/{row[0]}" for row in rows}
    finally:
        await engine.dispose()


async def test_postgres_restart_mid_traffic(
    fault_backing: BackingServices, fault_postgres: FaultPostgres
) -> None:
    async with instance(fault_settings(fault_backing), fault_backing) as server:
        owner = await register(server.registry, server.auth)
        seen, stop = Seen(), asyncio.Event()
        traffic = [asyncio.create_task(run(server, owner, seen, stop, 60)) for _ in range(3)]
        try:
            await until_seen(seen, "OK", TRAFFIC_CALLS)
            before_outage = seen.codes["OK"]
            await asyncio.to_thread(fault_postgres.stop)
            assert await wait_for_readiness(server, NOT_SERVING)
            await until_seen(seen, "UNAVAILABLE", TRAFFIC_CALLS)  # traffic goes on meanwhile
            await asyncio.to_thread(fault_postgres.start)
            assert await wait_for_readiness(server, SERVING)
            recovered = seen.codes["OK"]
            await until_seen(seen, "OK", TRAFFIC_CALLS)
        finally:
            stop.set()
            await asyncio.gather(*traffic)
        assert before_outage > 0
        assert seen.codes["OK"] > recovered  # the same process serves again, no restart
        assert seen.bad == []
        assert seen.codes["UNAVAILABLE"] > 0
        assert set(seen.reasons) <= {"DATABASE_UNAVAILABLE"}
        assert await _stored(fault_backing, seen.registered) == set(seen.registered)
        assert await readiness(server) == SERVING


WARM_CALLS = 8  # concurrent calls of each kind: several pooled connections in each pool


async def _database_calls(server: Instance, owner: AgentHandle, tag: str) -> None:
    """Concurrent calls that each need Postgres: point reads (uncached GetAgent and
    GetReputation, on psycopg's pool) and writes (UpdateAgent, through SQLAlchemy's)."""
    reputation = attestation_service_pb2_grpc.ReputationServiceStub(server.channel)
    mask = field_mask_pb2.FieldMask(paths=["description"])
    calls = []
    for n in range(WARM_CALLS):
        calls.append(
            server.registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
        )
        calls.append(
            reputation.GetReputation(
                attestation_service_pb2.GetReputationRequest(name=f"{owner.name}/reputation")
            )
        )
        update = registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=owner.name, description=f"{tag}{n}"), update_mask=mask
        )
        calls.append(server.registry.UpdateAgent(update, metadata=owner.metadata))
    await asyncio.gather(*calls)  # any failure raises


async def test_first_calls_after_postgres_restart_succeed(
    fault_backing: BackingServices, fault_postgres: FaultPostgres
) -> None:
    """Pooled connections died with the old postmaster; each is checked before it is
    handed out, so no call after recovery fails on one."""
    settings = fault_settings(fault_backing, cache_enabled=False)
    async with instance(settings, fault_backing) as server:
        owner = await register(server.registry, server.auth)
        await _database_calls(server, owner, "warm")
        await asyncio.to_thread(fault_postgres.stop)
        try:
            assert await wait_for_readiness(server, NOT_SERVING)
        finally:
            await asyncio.to_thread(fault_postgres.start)
        assert await wait_for_readiness(server, SERVING)
        await _database_calls(server, owner, "after")


async def test_engine_pool_survives_postgres_restart(
    fault_backing: BackingServices, fault_postgres: FaultPostgres
) -> None:
    """The SQLAlchemy pool on its own, with no readiness probe to find the dead
    connections first (as in the scheduler): every first query after the restart works."""
    engine = create_engine(fault_backing.database_url, pool_size=WARM_CALLS)

    async def query() -> int:
        async with engine.connect() as connection:
            held = await connection.execute(text("SELECT 1 FROM pg_sleep(0.05)"))
            return len(held.all())

    try:
        assert await asyncio.gather(*(query() for _ in range(WARM_CALLS))) == [1] * WARM_CALLS
        await asyncio.to_thread(fault_postgres.stop)
        await asyncio.to_thread(fault_postgres.start)  # returns once it accepts connections
        assert await asyncio.gather(*(query() for _ in range(WARM_CALLS))) == [1] * WARM_CALLS
    finally:
        await engine.dispose()


async def test_redis_killed_mid_traffic(
    fault_backing: BackingServices, fault_redis: FaultRedis
) -> None:
    settings = fault_settings(fault_backing, rate_limit_enabled=True)
    async with instance(settings, fault_backing) as server:
        owner = await register(server.registry, server.auth)
        limiter = server.app.limiter
        assert limiter is not None
        seen, stop = Seen(), asyncio.Event()
        traffic = [asyncio.create_task(run(server, owner, seen, stop, 60)) for _ in range(3)]
        try:
            await until_seen(seen, "OK", TRAFFIC_CALLS)
            await asyncio.to_thread(fault_redis.kill)
            assert await wait_for_readiness(server, NOT_SERVING)
            await until_seen(seen, "UNAVAILABLE", TRAFFIC_CALLS)
            assert limiter.degraded  # budgets fell back to this process, calls still counted
            await asyncio.to_thread(fault_redis.start)
            assert await wait_for_readiness(server, SERVING)
            recovered = seen.codes["OK"]
            await until_seen(seen, "OK", TRAFFIC_CALLS)
        finally:
            stop.set()
            await asyncio.gather(*traffic)
        assert seen.codes["OK"] > recovered
        assert seen.bad == []
        assert seen.codes["UNAVAILABLE"] > 0
        assert set(seen.reasons) <= {"BACKEND_UNAVAILABLE"}
        assert await _stored(fault_backing, seen.registered) == set(seen.registered)
        # The session lived through the restart (Redis keeps it on disk), and limits are
        # shared through Redis again once its retry interval has passed.
        await until_ok(lambda: register(server.registry, server.auth))
        for _ in range(100):
            await register(server.registry)
            if not limiter.degraded:
                break
            await asyncio.sleep(0.1)
        assert not limiter.degraded
