"""PresenceService over gRPC: convert, call the service, convert back.

The stream is a reader task (beats in, acks into the stream's outbox) and this
generator draining the outbox, so acks, server pushes and the stream's end all
leave through one place in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import grpc
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import presence_service_pb2_grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from server.domain.agents import AgentStatus
from server.domain.errors import DomainError
from server.domain.names import parse_agent_name
from server.errors import ERROR_DOMAIN, STATUS_DETAILS_KEY
from server.interceptors import response_metadata
from server.presence import convert
from server.presence.service import PresenceService
from server.presence.streams import Ack, EndKind, OpenStream, StreamEnd

Context = grpc.aio.ServicerContext[object, object]

# Methods that check the caller's session inside their one Redis script
# (server/interceptors/auth.py, DeferredSession).
SESSION_IN_SCRIPT = frozenset(
    {
        "/agentregistry.v1.PresenceService/SendHeartbeat",
        "/agentregistry.v1.PresenceService/Heartbeat",
    }
)

_ENDINGS: dict[EndKind, tuple[grpc.StatusCode, str]] = {
    EndKind.SUPERSEDED: (grpc.StatusCode.ABORTED, "STREAM_SUPERSEDED"),
    EndKind.SILENT: (grpc.StatusCode.DEADLINE_EXCEEDED, "HEARTBEAT_TIMEOUT"),
    EndKind.DELETED: (grpc.StatusCode.NOT_FOUND, "AGENT_DELETED"),
    EndKind.SHUTDOWN: (grpc.StatusCode.UNAVAILABLE, "SERVER_RESTARTING"),
}


async def _end(context: Context, ending: StreamEnd) -> None:
    """Finish the call with the ending's code and an ErrorInfo reason (OK needs none)."""
    if ending.kind not in _ENDINGS:
        return
    code, reason = _ENDINGS[ending.kind]
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=ERROR_DOMAIN))
    status = status_pb2.Status(code=code.value[0], message=ending.message, details=[detail])
    await context.abort(code, ending.message, ((STATUS_DETAILS_KEY, status.SerializeToString()),))


class PresenceServicer(presence_service_pb2_grpc.PresenceServiceServicer):
    def __init__(self, service: PresenceService) -> None:
        self._service = service

    async def _read(self, stream: OpenStream, context: Context) -> None:
        """Reads with context.read(): the request iterator is one more generator per beat.

        Once the first ack is out, acks leave from here (context.write) rather than through
        the outbox and the handler's generator: a task switch and two generator layers less
        per beat. The stream's lock keeps one message in flight at a time (gRPC allows no
        more) and the order: anything already queued in the outbox goes first."""
        interval_s, ttl_s = self._service.interval_s, self._service.ttl_s
        try:
            while (read := await context.read()) is not grpc.aio.EOF:
                beat = cast(pb.HeartbeatRequest, read)
                status = convert.status_from_proto(beat.status, "status")
                ack = self._service.beat(stream, beat.sequence, status, beat.load)
                if ack.status is AgentStatus.OFFLINE:
                    continue  # its ack and the stream's end are queued
                if not stream.direct or not stream.outbox.empty():
                    stream.send(ack)
                    continue
                message = convert.ack_response(ack, interval_s, ttl_s)
                async with stream.lock:
                    if stream.ended:
                        return
                    try:
                        await context.write(message)
                    except Exception:  # the call is ending: the handler finishes it
                        return
        except DomainError as error:
            stream.send(error)
            stream.ended = True
            return
        stream.end(EndKind.COMPLETED, "the client closed its side")

    async def Heartbeat(
        self, request_iterator: AsyncIterator[pb.HeartbeatRequest], context: Context
    ) -> AsyncIterator[pb.HeartbeatResponse]:
        stream = await self._service.open_stream()
        # Over native gRPC every ack, the first one too, may leave from the reader; an HTTP
        # edge's call needs the first message through the call layer's generator, which
        # sends its response metadata as headers with it.
        stream.direct = not response_metadata.from_edge(context.invocation_metadata())
        reader = asyncio.create_task(self._read(stream, context))
        interval_s, ttl_s = self._service.interval_s, self._service.ttl_s
        try:
            while True:
                item = await stream.outbox.get()
                if isinstance(item, Ack):
                    message = convert.ack_response(item, interval_s, ttl_s)
                    async with stream.lock:  # held until gRPC asks for the next message
                        yield message
                    stream.direct = True
                elif isinstance(item, StreamEnd):
                    async with stream.lock:
                        await _end(context, item)
                    return
                elif isinstance(item, DomainError):
                    raise item
                else:
                    push = convert.push_to_proto(item)
                    async with stream.lock:
                        yield push
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader
            self._service.close_stream(stream)

    async def SendHeartbeat(
        self, request: pb.SendHeartbeatRequest, context: Context
    ) -> pb.HeartbeatAck:
        ack = await self._service.send_heartbeat(
            parse_agent_name(request.name, "name"),
            request.sequence,
            convert.status_from_proto(request.status, "status"),
            request.load,
        )
        return convert.ack_to_proto(ack, self._service.interval_s, self._service.ttl_s)

    async def SetStatus(self, request: pb.SetStatusRequest, context: Context) -> pb.Presence:
        presence = await self._service.set_status(
            parse_agent_name(request.name, "name"),
            convert.status_from_proto(request.status, "status"),
        )
        return convert.presence_to_proto(presence)

    async def GetPresence(self, request: pb.GetPresenceRequest, context: Context) -> pb.Presence:
        agent_id = convert.parse_presence_name(request.name)
        return convert.presence_to_proto(await self._service.get_presence(agent_id))
