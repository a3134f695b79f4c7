"""A bare grpc.aio bidi echo behind the same PresenceService/Heartbeat method, for
`make bench-heartbeat BENCH_ARGS=--echo`: the same load generator, worker count and
SO_REUSEPORT port against a server that does nothing but ack, so the bench can show
what this machine does at all next to what the registry does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import presence_service_pb2_grpc


class EchoPresence(presence_service_pb2_grpc.PresenceServiceServicer):
    async def Heartbeat(
        self,
        request_iterator: AsyncIterator[pb.HeartbeatRequest],
        context: grpc.aio.ServicerContext[pb.HeartbeatRequest, pb.HeartbeatResponse],
    ) -> AsyncIterator[pb.HeartbeatResponse]:
        async for beat in request_iterator:
            yield pb.HeartbeatResponse(ack=pb.HeartbeatAck(sequence=beat.sequence))


async def serve_echo(port: int) -> None:
    """Same server options as the registry's workers (keepalive, SO_REUSEPORT)."""
    from bench.heartbeat import collect_on_signal
    from server.app import _server_options
    from server.worker import settle_heap

    collect_on_signal()
    server = grpc.aio.server(options=_server_options())
    presence_service_pb2_grpc.add_PresenceServiceServicer_to_server(EchoPresence(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    settle_heap()  # as the registry's workers do
    await asyncio.Event().wait()
