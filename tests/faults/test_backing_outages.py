"""Postgres and Redis go away mid-traffic and come back: UNAVAILABLE meanwhile, never
INTERNAL; readiness says NOT_SERVING; the same server recovers without a restart
and every acknowledged write is there."""

from __future__ import annotations

import asyncio

from grpc_health.v1 import health_pb2
from sqlalchemy import text

from db.engine import create_engine
from server.backing import BackingServices
from tests.e2e.servers import instance
from tests.factories import register
from tests.faults.backing import FaultPostgres, FaultRedis, fault_settings
from tests.faults.traffic import Seen, readiness, run, until_ok, wait_for_readiness

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


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
            await asyncio.sleep(0.5)
            before_outage = seen.codes["OK"]
            await asyncio.to_thread(fault_postgres.stop)
            assert await wait_for_readiness(server, NOT_SERVING)
            await asyncio.sleep(1.0)  # traffic keeps coming while it is down
            await asyncio.to_thread(fault_postgres.start)
            assert await wait_for_readiness(server, SERVING)
            recovered = seen.codes["OK"]
            await asyncio.sleep(1.0)
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
            await asyncio.sleep(0.5)
            await asyncio.to_thread(fault_redis.kill)
            assert await wait_for_readiness(server, NOT_SERVING)
            await asyncio.sleep(1.0)
            assert limiter.degraded  # budgets fell back to this process, calls still counted
            await asyncio.to_thread(fault_redis.start)
            assert await wait_for_readiness(server, SERVING)
            recovered = seen.codes["OK"]
            await asyncio.sleep(1.0)
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
