"""PresenceService over gRPC: convert, call the service, convert back.

A heartbeat stream is one task: the handler (gRPC's reader-writer form, no response
generator) reads each beat and writes its ack itself. What else a stream sends waits
in its outbox: pushes are written by a task started only when one is queued, and an
ending interrupts the wait for the next beat, so the stream finishes in its own task
after everything queued before it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import cast

import grpc
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import presence_service_pb2_grpc
from google.rpc import status_pb2

from server.call import Call
from server.domain.errors import DomainError
from server.domain.names import agent_name, parse_agent_name
from server.domain.reasons import Reason
from server.errors import STATUS_DETAILS_KEY, error_info
from server.presence import convert
from server.presence.service import PresenceService
from server.presence.streams import Ack, EndKind, OpenStream, StreamEnd

_ENDINGS: dict[EndKind, tuple[grpc.StatusCode, Reason]] = {
    EndKind.SUPERSEDED: (grpc.StatusCode.ABORTED, Reason.STREAM_SUPERSEDED),
    EndKind.SILENT: (grpc.StatusCode.DEADLINE_EXCEEDED, Reason.HEARTBEAT_TIMEOUT),
    EndKind.DELETED: (grpc.StatusCode.NOT_FOUND, Reason.AGENT_DELETED),
    # As the agent's sign-in is refused (server/auth/service.py).
    EndKind.SUSPENDED: (grpc.StatusCode.PERMISSION_DENIED, Reason.AGENT_SUSPENDED),
    EndKind.TAKEN_DOWN: (grpc.StatusCode.NOT_FOUND, Reason.AGENT_TAKEN_DOWN),
    EndKind.SHUTDOWN: (grpc.StatusCode.UNAVAILABLE, Reason.SERVER_RESTARTING),
    # As a reopen with that credential is refused: the agent signs in again and reopens.
    EndKind.REVOKED: (grpc.StatusCode.UNAUTHENTICATED, Reason.CREDENTIALS_REVOKED),
    EndKind.EXPIRED: (grpc.StatusCode.UNAUTHENTICATED, Reason.SESSION_EXPIRED),
    EndKind.KEY_EXPIRED: (grpc.StatusCode.UNAUTHENTICATED, Reason.API_KEY_EXPIRED),
}


# An ending the client may be writing into waits this long for its next beat and ends
# right after reading it (or at the grace's end, when the client is not writing): grpcio's
# asyncio client reports its own INTERNAL, instead of the server's status, for a stream
# ended while one of its writes is in flight (grpc/grpc#36066). An agent beating every few
# seconds is then never mid-write. A client writing on a clock of its own much faster than
# that, without reading what the server sends, can still be: whatever the server does
# before its trailers (a last message, draining beats, waiting for a half-close that such
# a client never sends) ends the call while one of its writes may be in flight, since the
# server's core resets the stream after the trailers. The fault suite's storm (a beat
# every 5 ms) shows about 20-30 of 296 such endings as grpcio reports them; the client
# library's ServerStatus (agentregistry_client/stream_status.py) reads the server's
# status back for every one of them.
ENDING_GRACE_S = 1.0
_AT_ONCE = frozenset({EndKind.SHUTDOWN, EndKind.SILENT})


def _ends_after_a_beat(stream: OpenStream) -> bool:
    ending = stream.outbox[-1] if stream.outbox else None
    return isinstance(ending, StreamEnd) and ending.kind not in _AT_ONCE


async def _end(call: Call, ending: StreamEnd, agent_id: str) -> None:
    """Finish the call with the ending's code and an ErrorInfo reason (OK needs none)."""
    if ending.kind not in _ENDINGS:
        return
    code, reason = _ENDINGS[ending.kind]
    metadata = {} if reason is Reason.SERVER_RESTARTING else {"agent": agent_name(agent_id)}
    detail = error_info(reason, metadata)
    status = status_pb2.Status(code=code.value[0], message=ending.message, details=[detail])
    trailers = ((STATUS_DETAILS_KEY, status.SerializeToString()),)
    try:
        await call.abort(code, ending.message, trailers)
    except grpc.aio.AbortError:
        raise
    except Exception as failed:
        # The status could not be sent: the call is already over (its client left). An
        # error raised here would be answered with a second abort, which grpcio refuses
        # (UsageError, logged as unexpected); ended as the cancelled call it is.
        raise asyncio.CancelledError from failed


class PresenceServicer(presence_service_pb2_grpc.PresenceServiceServicer):
    def __init__(self, service: PresenceService) -> None:
        self._service = service

    async def Heartbeat(
        self, request_iterator: AsyncIterator[pb.HeartbeatRequest], call: Call
    ) -> None:
        """Beats are read with call.read(): the request iterator would be one more
        generator per beat."""
        stream = await self._service.open_stream(call.caller, call.take_session())
        task = asyncio.current_task()
        assert task is not None
        stream.notify = functools.partial(self._notified, stream, call, task)
        if stream.outbox and not stream.ended:  # pushed while the opening finished
            stream.notify()
        interval_s, ttl_s = self._service.interval_s, self._service.ttl_s
        try:
            while True:
                if stream.ended:
                    # Ended between reads: unless it must end at once, the client may be
                    # writing its next beat; read it (within the grace) and end after it.
                    if stream.interrupted or not _ends_after_a_beat(stream):
                        break
                    stream.interrupted = True
                    self._grace(stream, task)
                stream.waiting = stream.reading = True
                try:
                    read = await call.read()
                except asyncio.CancelledError:
                    stream.waiting = stream.reading = False
                    if stream.interrupted and task.uncancel() == 0:
                        break  # an ending
                    raise
                except Exception:
                    stream.waiting = stream.reading = False
                    await self._stalled(stream, task)
                    break
                stream.waiting = stream.reading = False
                if read is grpc.aio.EOF:
                    stream.end(EndKind.COMPLETED, "the client closed its side")
                    break
                if stream.ended:  # ended while the beat was on its way: end right after it
                    break
                beat = cast(pb.HeartbeatRequest, read)
                try:
                    status = convert.status_from_proto(beat.status, "status")
                    ack = self._service.beat(stream, beat.sequence, status, beat.load)
                except DomainError:
                    stream.ended = True  # nothing more is queued; what was leaves first
                    await self._write_queued(stream, call)
                    raise
                except Exception:  # a message that is no beat: no more beats are read
                    await self._stalled(stream, task)
                    break
                if stream.ended:  # an offline beat: its ack is queued ahead of the end
                    break
                if stream.outbox:  # anything queued earlier goes first
                    stream.send(ack)
                    continue
                message = convert.ack_response(ack, interval_s, ttl_s)
                async with stream.lock:  # one message in flight (gRPC allows no more)
                    try:
                        await call.write(message)
                        continue
                    except Exception:
                        pass
                await self._stalled(stream, task)
                break
            ending = await self._write_queued(stream, call)
            if ending is not None:
                async with stream.lock:
                    await _end(call, ending, stream.agent_id)
        finally:
            stream.notify = None  # (it holds the call's call and task)
            if stream.writer is not None:
                stream.writer.cancel()
            self._service.close_stream(stream)

    def _notified(self, stream: OpenStream, call: Call, task: asyncio.Task[object]) -> None:
        """Something was put in the stream's outbox. An ending interrupts the stream's wait
        for a beat; anything else is written by a task of its own, started unless one runs."""
        if stream.ended:
            if stream.waiting and not stream.interrupted:
                stream.interrupted = True
                if stream.reading and _ends_after_a_beat(stream):
                    self._grace(stream, task)
                else:
                    task.cancel()
        elif stream.writer is None:
            stream.writer = asyncio.ensure_future(self._write_outbox(stream, call))

    @staticmethod
    def _grace(stream: OpenStream, task: asyncio.Task[object]) -> None:
        """End the wait for a beat if none comes within the grace (the client is not
        writing, so the ending cannot cross one of its writes)."""

        def interrupt() -> None:
            if stream.waiting:
                task.cancel()

        asyncio.get_running_loop().call_later(ENDING_GRACE_S, interrupt)

    async def _write_outbox(self, stream: OpenStream, call: Call) -> None:
        """The outbox in order, up to its end (the stream's own task finishes the call)."""
        try:
            while stream.outbox and not isinstance(stream.outbox[0], StreamEnd):
                message = self._message(stream.outbox.popleft())
                async with stream.lock:
                    try:
                        await call.write(message)
                    except Exception:  # the call is ending: the stream's task finishes it
                        return
        finally:
            stream.writer = None

    async def _write_queued(self, stream: OpenStream, call: Call) -> StreamEnd | None:
        """What the outbox holds, written in order after the task writing it is done; the
        stream's end, if one is queued."""
        if stream.writer is not None:
            await stream.writer
        while stream.outbox:
            item = stream.outbox.popleft()
            if isinstance(item, StreamEnd):
                return item
            message = self._message(item)
            async with stream.lock:
                await call.write(message)
        return None

    def _message(self, item: object) -> pb.HeartbeatResponse:
        if isinstance(item, Ack):
            return convert.ack_response(item, self._service.interval_s, self._service.ttl_s)
        return convert.push_to_proto(item)

    @staticmethod
    async def _stalled(stream: OpenStream, task: asyncio.Task[object]) -> None:
        """A read or write failed: the call is ending. It ends with its cancellation, or an
        ending interrupts this wait as it would the wait for a beat."""
        if stream.ended:
            return
        stream.waiting = True
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            if not (stream.interrupted and task.uncancel() == 0):
                raise
        finally:
            stream.waiting = False

    async def SendHeartbeat(self, request: pb.SendHeartbeatRequest, call: Call) -> pb.HeartbeatAck:
        ack = await self._service.send_heartbeat(
            call.caller,
            parse_agent_name(request.name, "name"),
            request.sequence,
            convert.status_from_proto(request.status, "status"),
            request.load,
            call.take_session(),
        )
        return convert.ack_to_proto(ack, self._service.interval_s, self._service.ttl_s)

    async def SetStatus(self, request: pb.SetStatusRequest, call: Call) -> pb.Presence:
        presence = await self._service.set_status(
            call.caller,
            parse_agent_name(request.name, "name"),
            convert.status_from_proto(request.status, "status"),
        )
        return convert.presence_to_proto(presence)

    async def GetPresence(self, request: pb.GetPresenceRequest, call: Call) -> pb.Presence:
        agent_id = convert.parse_presence_name(request.name)
        return convert.presence_to_proto(await self._service.get_presence(agent_id))
