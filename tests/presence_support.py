"""A server with short presence timings (beat 0.3 s, TTL 1 s) for presence tests.

Each server gets its own Redis namespace, so sweeps in one test never see
another test's agents.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from agentregistry.v1 import (
    auth_service_pb2_grpc,
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2_grpc,
)
from agentregistry_client.stream_status import ServerStatus
from sqlalchemy import event

from server.app import RegistryServer, build_server
from server.backing import BackingServices
from server.settings import Settings
from tests.e2e.search_support import word
from tests.factories import AgentHandle, register

INTERVAL_S = 0.3
TTL_S = 1.0


def presence_settings(backing: BackingServices, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "grpc_port": 0,
        "database_url": backing.database_url,
        "redis_url": backing.redis_url,
        "heartbeat_interval_s": INTERVAL_S,
        "presence_ttl_s": TTL_S,
        "presence_write_interval_ms": 20,
        "presence_namespace": f"presence-test-{uuid.uuid4().hex[:8]}",
        "presence_self_preservation_min_agents": 1000,
        "rate_limit_enabled": False,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class PresenceClient:
    app: RegistryServer
    settings: Settings
    channel: grpc.aio.Channel
    registry: registry_service_pb2_grpc.RegistryServiceStub
    auth: auth_service_pb2_grpc.AuthServiceStub
    presence: presence_service_pb2_grpc.PresenceServiceStub


@pytest.fixture(scope="module")
async def presence_client(backing: BackingServices) -> AsyncIterator[PresenceClient]:
    settings = presence_settings(backing)
    app, port = await build_server(settings, backing)
    await app.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        yield PresenceClient(
            app,
            settings,
            channel,
            registry_service_pb2_grpc.RegistryServiceStub(channel),
            auth_service_pb2_grpc.AuthServiceStub(channel),
            presence_service_pb2_grpc.PresenceServiceStub(channel),
        )
    await app.stop(0)


class Beats:
    """Client side of a heartbeat stream: send beats when told, read responses in order.

    Its errors are the server's: grpcio reports its own INTERNAL when a beat is in flight
    as the server ends the stream, and ServerStatus reads the server's status back."""

    def __init__(self, stub: presence_service_pb2_grpc.PresenceServiceStub, metadata: Any) -> None:
        self._queue: asyncio.Queue[presence_service_pb2.HeartbeatRequest | None] = asyncio.Queue()
        self.call = stub.Heartbeat(self._requests(), metadata=metadata)
        self._server = ServerStatus(self.call)

    async def _requests(self) -> AsyncIterator[presence_service_pb2.HeartbeatRequest]:
        while (beat := await self._queue.get()) is not None:
            yield beat

    def send(self, sequence: int, **fields: Any) -> None:
        self._queue.put_nowait(presence_service_pb2.HeartbeatRequest(sequence=sequence, **fields))

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def next(self, within_s: float = 5.0) -> presence_service_pb2.HeartbeatResponse:
        return await asyncio.wait_for(self.call.read(), within_s)  # type: ignore[no-any-return]

    async def error(self, within_s: float = 10.0) -> grpc.aio.AioRpcError:
        """Read until the stream fails; returns the error (fails the test if it ends OK)."""
        try:
            async with asyncio.timeout(within_s):
                while True:
                    message = await self.call.read()
                    if message is grpc.aio.EOF:
                        raise AssertionError("stream ended OK; expected an error")
        except grpc.aio.AioRpcError as error:
            return await self._server.error(error)


class StatementCounter:
    """Counts SQL statements the server's engine runs (to prove beats never reach Postgres)."""

    def __init__(self, app: RegistryServer) -> None:
        self.statements: list[str] = []
        self._engine = app.engine.sync_engine
        self._listener: Callable[..., None] = self._count

    def _count(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The process's outbox followers (events pushed down streams, typeahead names) poll
        # and refresh on their own clock, whatever the beats do; every other statement counts.
        if "FROM events" in statement or "pg_snapshot" in statement or "pg_current" in statement:
            return
        if statement.startswith("SELECT id, display_name FROM agents WHERE id = ANY"):
            return
        if statement == "SELECT 1":  # the readiness probe (db/probe.py), every 0.5 s in tests
            return
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        event.listen(self._engine, "before_cursor_execute", self._listener)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._listener)


async def searchable_agent(client: PresenceClient) -> tuple[AgentHandle, str]:
    """A logged-in agent named after a fresh word: a search for the word finds it alone."""
    topic = word()
    return await register(client.registry, client.auth, display_name=f"{topic} Desk"), topic


async def set_status(client: PresenceClient, agent: AgentHandle, status: int) -> None:
    await client.presence.SetStatus(
        presence_service_pb2.SetStatusRequest(name=agent.name, status=status),
        metadata=agent.metadata,
    )
