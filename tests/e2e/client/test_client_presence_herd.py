"""Every agent reconnecting at once: the opens past a server's bound are refused at once
with UNAVAILABLE and a retry delay (never left to time out), and the client follows the
delay, so every agent ends up streaming."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import grpc
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import presence_service_pb2_grpc
from agentregistry_client import AgentKey, RegistryClient
from google.rpc import error_details_pb2, status_pb2

from server.backing import BackingServices
from tests.e2e.servers import instance
from tests.presence_support import presence_settings

AGENTS = 150


def _retry_delay_s(error: grpc.aio.AioRpcError) -> float | None:
    for key, value in error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        for detail in status_pb2.Status.FromString(value).details:  # type: ignore[arg-type]
            info = error_details_pb2.RetryInfo()
            if detail.Unpack(info):
                return info.retry_delay.ToTimedelta().total_seconds()
    return None


async def _open(
    stub: presence_service_pb2_grpc.PresenceServiceStub, metadata: tuple[tuple[str, str], ...]
) -> tuple[grpc.aio.StreamStreamCall[pb.HeartbeatRequest, pb.HeartbeatResponse], object]:
    """One opening: the call, and its first answer or the error that refused it."""
    call = stub.Heartbeat(metadata=metadata)
    try:
        await call.write(pb.HeartbeatRequest(sequence=1, load=0.1))
        return call, await call.read()
    except grpc.aio.AioRpcError as error:
        return call, error


async def test_a_herd_is_refused_with_retry_delays_and_every_agent_ends_up_streaming(
    backing: BackingServices,
) -> None:
    settings = presence_settings(backing, presence_max_opening=3, presence_max_open_rate=20)
    async with instance(settings, backing) as server:
        assert server.app.presence is not None
        gate = server.app.presence.service.streams.gate
        clients = [
            RegistryClient(f"127.0.0.1:{server.app.port}", key=AgentKey.generate())
            for _ in range(AGENTS)
        ]
        try:
            for index, client in enumerate(clients):
                await client.register(f"Herd {index} {uuid.uuid4().hex[:6]}")
            # Raw opens, all at once: each is answered or refused at once, never timed out.
            metadata = [await c.credentials.metadata(required=True) for c in clients]
            stub = presence_service_pb2_grpc.PresenceServiceStub(server.channel)
            opened = await asyncio.wait_for(asyncio.gather(*(_open(stub, m) for m in metadata)), 60)
            refused = [answer for _, answer in opened if isinstance(answer, grpc.aio.AioRpcError)]
            assert refused, "the bounds (3 in flight, 20 a second) refused none of 150"
            for error in refused:
                assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                delay = _retry_delay_s(error)
                assert delay is not None and delay >= 1.0, error
            for call, _ in opened:
                call.cancel()
            # The client: every agent's presence at once; the refused ones follow the delay.
            before = gate.refused_total
            presences = [c.presence(reconnect_jitter_s=0.5) for c in clients]
            for presence in presences:
                presence.start()
            await asyncio.wait_for(asyncio.gather(*(p.wait_connected() for p in presences)), 120)
            assert all(p.connected and p.error is None for p in presences)
            assert gate.refused_total > before, "the herd of clients was never refused"
            await asyncio.gather(*(p.stop() for p in presences))
        finally:
            for client in clients:
                with contextlib.suppress(Exception):
                    await client.close()
