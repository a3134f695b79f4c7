"""Scale-out and operations: a real worker process drained by SIGTERM; presence across instances."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import grpc
import psycopg
import pytest
from agentregistry.v1 import (
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    resources_pb2,
)
from google.protobuf import field_mask_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from db.engine import libpq_url
from server.backing import BackingServices
from tests.e2e.servers import instance
from tests.factories import error_details, register
from tests.presence_support import Beats, presence_settings


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def worker(backing: BackingServices) -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """`python -m server.worker`, exactly as the supervisor starts it."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": backing.database_url,
        "REDIS_URL": backing.redis_url,
        "GRPC_PORT": str(port),
        "RATE_LIMIT_ENABLED": "false",
        "SHUTDOWN_GRACE_S": "10",
        "LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "server.worker", env=env)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for _ in range(600):  # a minute at least: NOT_SERVING is polled too, not raced
            try:
                reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    break
            except grpc.aio.AioRpcError:
                pass
            await asyncio.sleep(0.1)
        else:
            process.kill()
            raise AssertionError("worker never became healthy")
    yield process, port
    if process.returncode is None:
        process.kill()
        await process.wait()


async def test_sigterm_drains_in_flight_calls_and_asks_streams_to_reconnect(
    worker, backing, registry, auth
) -> None:
    process, port = worker
    owner = await register(registry, auth)
    agent_id = owner.name.removeprefix("agents/")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        beats = Beats(presence_service_pb2_grpc.PresenceServiceStub(channel), owner.metadata)
        beats.send(1)
        assert (await beats.next()).ack.sequence == 1

        # Hold the agent's row so the update below is still running when SIGTERM arrives.
        blocker = await psycopg.AsyncConnection.connect(libpq_url(backing.database_url))
        await blocker.execute("SELECT 1 FROM agents WHERE id = %s FOR UPDATE", (agent_id,))
        stub = registry_service_pb2_grpc.RegistryServiceStub(channel)
        in_flight = asyncio.ensure_future(
            stub.UpdateAgent(
                registry_service_pb2.UpdateAgentRequest(
                    agent=resources_pb2.Agent(name=owner.name, description="finished in grace"),
                    update_mask=field_mask_pb2.FieldMask(paths=["description"]),
                ),
                metadata=owner.metadata,
            )
        )
        await asyncio.sleep(0.5)
        process.send_signal(signal.SIGTERM)

        # The stream hears first that it should reconnect, then ends with UNAVAILABLE.
        pushed = await beats.next(within_s=10)
        assert pushed.WhichOneof("kind") == "reconnect"
        ended = await beats.error()
        assert (error_details(ended).code, error_details(ended).reason) == (
            grpc.StatusCode.UNAVAILABLE,
            "SERVER_RESTARTING",
        )
        assert not in_flight.done()
        await blocker.commit()
        await blocker.close()
        updated = await asyncio.wait_for(in_flight, 10)
        assert updated.description == "finished in grace"
    assert await asyncio.wait_for(process.wait(), 15) == 0

    # A restart is not an outage: the agent is still online for everyone else.
    fetched = await registry.GetAgent(registry_service_pb2.GetAgentRequest(name=owner.name))
    assert fetched.status == resources_pb2.AGENT_STATUS_ONLINE


async def test_heartbeat_on_one_instance_is_seen_on_another(backing, registry, auth) -> None:
    owner = await register(registry, auth)
    settings = presence_settings(backing, presence_namespace="presence")
    async with instance(settings, backing) as first, instance(settings, backing) as second:
        beats = Beats(presence_service_pb2_grpc.PresenceServiceStub(first.channel), owner.metadata)
        beats.send(1, status=resources_pb2.AGENT_STATUS_BUSY)
        assert (await beats.next()).ack.status == resources_pb2.AGENT_STATUS_BUSY
        presence = presence_service_pb2_grpc.PresenceServiceStub(second.channel)
        for _ in range(50):
            seen = await presence.GetPresence(
                presence_service_pb2.GetPresenceRequest(name=f"{owner.name}/presence")
            )
            if seen.status == resources_pb2.AGENT_STATUS_BUSY:
                break
            await asyncio.sleep(0.05)
        assert seen.status == resources_pb2.AGENT_STATUS_BUSY and seen.streaming
        beats.close()
