"""A client that hangs up mid-call is recorded as CANCELLED, at most at INFO: no INTERNAL,
no traceback, also when the handler finishes after the client went and the call layer's
send is what fails (gRPC's ExecuteBatchError, as when a client hangs up through Envoy
before gRPC has cancelled the handler)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from server.call import EDGE_MARKER, Call
from server.calls.auth import Authenticator
from server.calls.layer import CallLayer
from server.calls.method_table import MethodTable

METHOD = "/grpc.health.v1.Health/Check"


class _Slow(health_pb2_grpc.HealthServicer):
    """Waits to be released; a stubborn one finishes its work and answers after its client
    has gone (as a shielded write does)."""

    def __init__(self, stubborn: bool) -> None:
        self.stubborn = stubborn
        self.started = asyncio.Event()
        self.cancelled = asyncio.Event()  # gRPC has cancelled the handler
        self.release = asyncio.Event()

    async def Check(
        self, request: health_pb2.HealthCheckRequest, call: Call
    ) -> health_pb2.HealthCheckResponse:
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            if not self.stubborn:
                raise
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            await self.release.wait()
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[_Slow], Any]]:
    servers: list[grpc.aio.Server] = []
    channels: list[grpc.aio.Channel] = []

    async def start(servicer: _Slow) -> health_pb2_grpc.HealthStub:
        # An anonymous call never reaches the services behind the authenticator.
        layer = CallLayer(Authenticator(None, None), None, 10)  # type: ignore[arg-type]
        table = MethodTable(layer.wrap)
        health_pb2_grpc.add_HealthServicer_to_server(servicer, table)
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((table,))
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        servers.append(server)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        channels.append(channel)
        return health_pb2_grpc.HealthStub(channel)

    yield start
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(None)


async def _recorded(caplog: pytest.LogCaptureFixture) -> logging.LogRecord:
    """The access log's line for the call, waited for (generous deadline)."""
    async with asyncio.timeout(10):
        while True:
            found = [r for r in caplog.records if r.name == "agentregistry.access"]
            if found:
                return found[0]
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("stubborn", "edge"),
    [(True, True), (False, True), (False, False)],
    ids=["answers-after-the-client-went", "cancelled-http-edge", "cancelled-grpc"],
)
async def test_a_hung_up_call_is_recorded_cancelled_without_a_traceback(
    serve: Callable[[_Slow], Any],
    caplog: pytest.LogCaptureFixture,
    stubborn: bool,
    edge: bool,
) -> None:
    caplog.set_level(logging.DEBUG)
    servicer = _Slow(stubborn)
    stub = await serve(servicer)
    call = stub.Check(health_pb2.HealthCheckRequest(), metadata=(EDGE_MARKER,) if edge else ())
    await asyncio.wait_for(servicer.started.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.wait_for(servicer.cancelled.wait(), 10)
    servicer.release.set()  # a stubborn handler answers now, to a client that has gone
    record = await _recorded(caplog)
    assert record.getMessage() == f"rpc {METHOD} CANCELLED"
    assert record.levelno <= logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], [
        r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING
    ]
