"""kill -9 of a server worker and of the scheduler while writes are coming in.

Real processes (`python -m server.worker`, `python -m scheduler`) on the fault
suite's Postgres and Redis. Every write a client saw acknowledged is in Postgres
with its outbox event; webhook deliveries and the trust job carry on in the
scheduler started after the killed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from agentregistry.v1 import (
    attestation_service_pb2,
    attestation_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    resources_pb2,
    webhook_service_pb2,
    webhook_service_pb2_grpc,
)
from google.protobuf import field_mask_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import text

from db.engine import create_engine
from server.backing import BackingServices
from tests.attestation_factories import attest
from tests.e2e.servers import Instance, instance
from tests.factories import AgentHandle, register, register_request
from tests.faults.backing import OPEN_BUDGETS, fault_settings
from tests.webhook_receiver import Receiver

WAIT_S = 60.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _spawn(module: str, backing: BackingServices, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "DATABASE_URL": backing.database_url,
        "REDIS_URL": backing.redis_url,
        "PAGE_TOKEN_SECRET": "fault-suite-page-token-secret",
        "LOG_FORMAT": "text",
        "WEBHOOK_ALLOW_LOOPBACK": "true",
        "RATE_LIMITS": OPEN_BUDGETS,
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module], env=environment, stdout=out, stderr=subprocess.STDOUT
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def _process(
    module: str, backing: BackingServices, log: Path, **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    process = _spawn(module, backing, log, **env)
    try:
        yield process
    finally:
        _stop(process)


async def _serving(channel: grpc.aio.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            response = await health.Check(health_pb2.HealthCheckRequest(), timeout=2)
            if response.status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.aio.AioRpcError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.1)


async def _committed(backing: BackingServices, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(backing.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(sql), params)]
    finally:
        await engine.dispose()


async def _write_until(
    registry: registry_service_pb2_grpc.RegistryServiceStub,
    acknowledged: list[str],
    failures: list[grpc.StatusCode],
    stop: asyncio.Event,
) -> None:
    for _ in range(2000):
        if stop.is_set():
            return
        try:
            agent = await registry.CreateAgent(register_request(), timeout=5)
            acknowledged.append(agent.name)
        except grpc.aio.AioRpcError as error:
            failures.append(error.code())
            await asyncio.sleep(0.05)


async def test_worker_killed_during_writes_loses_no_acknowledged_write(
    fault_backing: BackingServices, tmp_path: Path
) -> None:
    port = _free_port()
    acknowledged: list[str] = []
    failures: list[grpc.StatusCode] = []
    log = tmp_path / "worker.log"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        with _process("server.worker", fault_backing, log, GRPC_PORT=str(port)) as victim:
            await _serving(channel)
            stop = asyncio.Event()
            writers = [
                asyncio.create_task(_write_until(registry, acknowledged, failures, stop))
                for _ in range(4)
            ]
            deadline = time.monotonic() + WAIT_S
            while len(acknowledged) < 40 and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            victim.send_signal(signal.SIGKILL)  # writes in flight on every writer
            victim.wait()
            killed_at = len(acknowledged)
            with _process("server.worker", fault_backing, log, GRPC_PORT=str(port)):
                await _serving(channel)
                deadline = time.monotonic() + WAIT_S
                while len(acknowledged) < killed_at + 40 and time.monotonic() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
                stop.set()
                await asyncio.gather(*writers)
    assert killed_at >= 40 and len(acknowledged) >= killed_at + 40
    assert set(failures) <= {grpc.StatusCode.UNAVAILABLE}  # the dead worker: retry elsewhere
    ids = [name.removeprefix("agents/") for name in acknowledged]
    stored = await _committed(
        fault_backing,
        "SELECT a.id, count(e.id) FROM agents a JOIN events e ON e.agent_id = a.id"
        " AND e.event_type = 'AGENT_REGISTERED' WHERE a.id = ANY(:ids) GROUP BY a.id",
        ids=ids,
    )
    assert {row[0] for row in stored} == set(ids)
    assert {row[1] for row in stored} == {1}  # one outbox event each, none doubled


@pytest.fixture
async def api(fault_backing: BackingServices) -> AsyncIterator[Instance]:
    async with instance(fault_settings(fault_backing), fault_backing) as server:
        yield server


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    sink = Receiver()
    sink.delay_s = 0.02  # deliveries in flight when the scheduler dies
    await sink.start()
    yield sink
    await sink.stop()


async def _update(server: Instance, owner: AgentHandle, description: str) -> None:
    await server.registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=owner.name, description=description),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=owner.metadata,
        timeout=10,
    )


def _delivered_ids(sink: Receiver, path: str) -> set[int]:
    # The body is the Event's proto3 JSON, which prints int64 ids as strings.
    return {int(json.loads(r.body)["id"]) for r in sink.at(path)}


WRITERS = 4  # agents written concurrently: event ids taken in one order, committed in another


async def _writes(server: Instance, owners: list[AgentHandle], tag: str, rounds: int) -> int:
    """`rounds` updates of every owner, the owners' writes concurrent; how many."""
    for n in range(rounds):
        await asyncio.gather(*(_update(server, owner, f"{tag} {n}") for owner in owners))
    return rounds * len(owners)


async def test_scheduler_killed_during_writes_resumes_delivery_and_trust(
    fault_backing: BackingServices, api: Instance, receiver: Receiver, tmp_path: Path
) -> None:
    """Concurrent writers (WRITERS agents, each with a webhook), the scheduler killed -9
    with deliveries in flight: every acknowledged write's event is delivered by the next
    scheduler, none skipped, and the trust job runs again there."""
    path = f"/kill9/{time.monotonic_ns()}"
    owners = [await register(api.registry, api.auth) for _ in range(WRITERS)]
    webhooks = webhook_service_pb2_grpc.WebhookServiceStub(api.channel)
    for owner in owners:
        await webhooks.CreateWebhook(
            webhook_service_pb2.CreateWebhookRequest(
                parent=owner.name, webhook=webhook_service_pb2.Webhook(url=receiver.url(path))
            ),
            metadata=owner.metadata,
        )
    owner = owners[0]
    attester = await register(api.registry, api.auth)
    attestations = attestation_service_pb2_grpc.AttestationServiceStub(api.channel)
    jobs = {
        "WEBHOOK_DELIVERY_INTERVAL_S": "0.2",
        "WEBHOOK_RETRY_BASE_S": "0.05",
        "WEBHOOK_RUN_BUDGET_S": "2",
        "TRUST_CHECK_INTERVAL_S": "0.3",
        "CLEANUP_INTERVAL_S": "3600",
    }
    log = tmp_path / "scheduler.log"
    acknowledged = 0
    with _process("scheduler", fault_backing, log, **jobs) as victim:
        acknowledged += await _writes(api, owners, "before", 10)
        deadline = time.monotonic() + WAIT_S
        while not receiver.at(path) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        victim.send_signal(signal.SIGKILL)  # mid-run, with deliveries in flight
        victim.wait()
    assert receiver.at(path)
    # Writes keep being acknowledged while no scheduler runs.
    acknowledged += await _writes(api, owners, "between", 5)
    killed_at = datetime.now(UTC)
    await attest(attestations, attester, owner.name, behaviour=5)
    with _process("scheduler", fault_backing, tmp_path / "survivor.log", **jobs):
        acknowledged += await _writes(api, owners, "after", 3)
        events = await _committed(
            fault_backing,
            "SELECT id FROM events WHERE agent_id = ANY(:agents) AND event_type = 'AGENT_UPDATED'",
            agents=[o.name.removeprefix("agents/") for o in owners],
        )
        wanted = {row[0] for row in events}
        assert len(wanted) == acknowledged
        deadline = time.monotonic() + WAIT_S
        while not wanted <= _delivered_ids(receiver, path) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        runs: list[tuple] = []
        while time.monotonic() < deadline:
            runs = await _committed(
                fault_backing,
                "SELECT id FROM trust_runs WHERE started_at > :after",
                after=killed_at,
            )
            if runs:
                break
            await asyncio.sleep(0.2)
    assert wanted - _delivered_ids(receiver, path) == set()  # every acknowledged write
    assert runs  # the trust job ran again in the new scheduler
    reputation = await attestation_service_pb2_grpc.ReputationServiceStub(
        api.channel
    ).GetReputation(attestation_service_pb2.GetReputationRequest(name=f"{owner.name}/reputation"))
    assert reputation.compute_time.ToDatetime(tzinfo=UTC) >= killed_at.replace(microsecond=0)
