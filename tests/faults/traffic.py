"""Mixed traffic against a server while a backing service fails, and what it saw.

Every failure must be UNAVAILABLE with ErrorInfo and RetryInfo (a client can
back off and retry); anything else (INTERNAL, UNKNOWN, ...) is recorded as bad.
Loops are bounded in count and time.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from agentregistry.v1 import (
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    resources_pb2,
    search_service_pb2,
    search_service_pb2_grpc,
)
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.e2e.servers import Instance
from tests.factories import AgentHandle, register_request

MAX_CALLS = 20_000
CALL_TIMEOUT_S = 10.0


@dataclass
class Seen:
    codes: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)
    registered: list[str] = field(default_factory=list)

    def failed(self, error: grpc.aio.AioRpcError) -> None:
        self.codes[error.code().name] += 1
        if error.code() != grpc.StatusCode.UNAVAILABLE:
            self.bad.append(f"{error.code().name}: {error.details()}")
            return
        reason, retry = _details(error)
        self.reasons[reason] += 1
        if not reason or not retry:
            self.bad.append(f"UNAVAILABLE without ErrorInfo/RetryInfo: {error.details()}")


def _details(error: grpc.aio.AioRpcError) -> tuple[str, bool]:
    reason, retry = "", False
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        for detail in status_pb2.Status.FromString(value).details:  # type: ignore[arg-type]
            info, delay = error_details_pb2.ErrorInfo(), error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                reason = info.reason
            elif detail.Unpack(delay):
                retry = delay.retry_delay.ToMilliseconds() > 0
    return reason, retry


def calls(server: Instance, owner: AgentHandle, seen: Seen) -> list[Callable[[], Awaitable[None]]]:
    """One of each kind: a write, uncached reads, a search, an authenticated update, a
    unary heartbeat and a heartbeat stream's opening (each one Redis script)."""
    search = search_service_pb2_grpc.SearchServiceStub(server.channel)
    presence = presence_service_pb2_grpc.PresenceServiceStub(server.channel)
    counter = itertools.count()

    async def write() -> None:
        agent = await server.registry.CreateAgent(register_request(), timeout=CALL_TIMEOUT_S)
        seen.registered.append(agent.name)

    async def read() -> None:
        request = registry_service_pb2.ListAgentsRequest(page_size=1 + next(counter) % 400)
        await server.registry.ListAgents(request, timeout=CALL_TIMEOUT_S)

    async def get() -> None:
        request = registry_service_pb2.GetAgentRequest(name=owner.name)
        await server.registry.GetAgent(request, timeout=CALL_TIMEOUT_S)

    async def find() -> None:
        request = search_service_pb2.SearchAgentsRequest(query=f"agent {uuid.uuid4().hex[:6]}")
        await search.SearchAgents(request, timeout=CALL_TIMEOUT_S)

    async def update() -> None:
        request = registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=owner.name, description=f"v{next(counter)}"),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        )
        await server.registry.UpdateAgent(request, metadata=owner.metadata, timeout=CALL_TIMEOUT_S)

    async def beat() -> None:
        request = presence_service_pb2.SendHeartbeatRequest(name=owner.name, load=0.5)
        await presence.SendHeartbeat(request, metadata=owner.metadata, timeout=CALL_TIMEOUT_S)

    async def stream() -> None:
        call = presence.Heartbeat(metadata=owner.metadata, timeout=CALL_TIMEOUT_S)
        try:
            await call.write(presence_service_pb2.HeartbeatRequest(sequence=1))
            if await call.read() is grpc.aio.EOF:
                await call  # raises the status it ended with
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.ABORTED:  # another runner's stream replaced it
                raise
        finally:
            call.cancel()

    return [write, read, get, find, update, beat, stream]


async def run(
    server: Instance, owner: AgentHandle, seen: Seen, stop: asyncio.Event, limit_s: float
) -> None:
    """Round-robin the calls until `stop` (or the bounds), recording every outcome."""
    kinds = calls(server, owner, seen)
    deadline = time.monotonic() + limit_s
    for number in range(MAX_CALLS):
        if stop.is_set() or time.monotonic() > deadline:
            return
        try:
            await kinds[number % len(kinds)]()
            seen.codes["OK"] += 1
        except grpc.aio.AioRpcError as error:
            seen.failed(error)
        await asyncio.sleep(0.002)


async def until_seen(seen: Seen, code: str, more: int, limit_s: float = 60.0) -> None:
    """Until the traffic has ended `more` calls with `code` beyond those seen so far (the
    traffic runs on meanwhile): a condition, not a fixed time a loaded machine may miss."""
    wanted = seen.codes[code] + more
    deadline = time.monotonic() + limit_s
    while seen.codes[code] < wanted:
        if time.monotonic() > deadline:
            raise AssertionError(f"{more} more {code} not seen in {limit_s:g} s: {seen.codes}")
        await asyncio.sleep(0.02)


async def readiness(server: Instance) -> int:
    health = health_pb2_grpc.HealthStub(server.channel)
    response = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
    return int(response.status)


async def wait_for_readiness(server: Instance, status: int, limit_s: float = 30.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if await readiness(server) == status:
            return True
        await asyncio.sleep(0.1)
    return False


async def until_ok(call: Callable[[], Awaitable[object]], limit_s: float = 30.0) -> object:
    """Retry a call while it is UNAVAILABLE, as a client honouring RetryInfo would."""
    deadline = time.monotonic() + limit_s
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
