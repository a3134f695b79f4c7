"""Presence: the agent's heartbeat stream, held in the background.

One task owns the stream: a reader (the only caller of `call.read()`, never cancelled
mid-read, since cancelling a read cancels the whole call) and a writer that beats at
the interval the server announces and adopts new ones it pushes. When the stream ends:

- a `Reconnect` push (a server shutting down): reopen after its delay plus jitter;
- a refusal with a retry delay (a server busy with a reconnecting herd): reopen after the
  delay plus jitter;
- UNAVAILABLE or another transient end: reopen with jittered exponential backoff;
- UNAUTHENTICATED (a refused opening, or the stream's session ended, rotated out or
  expired: CREDENTIALS_REVOKED, SESSION_EXPIRED): log in again with the key and reopen,
  unless the session was renewed since the stream opened;
- STREAM_SUPERSEDED, AGENT_DELETED, AGENT_SUSPENDED, AGENT_TAKEN_DOWN or a refusal:
  stop, and raise `PresenceEnded` from `events()` and `wait()`.

The ending is the server's status even when a beat was in flight as the server ended the
stream (grpcio then reports an INTERNAL of its own; see stream_status.py).

The session is renewed in the background before it expires, so a reopen never waits
for a login.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

import grpc

from agentregistry_client import convert
from agentregistry_client._proto import presence_service_pb2, resources_pb2
from agentregistry_client.errors import PresenceEnded, RegistryError
from agentregistry_client.stream_status import ServerStatus
from agentregistry_client.watch import BACKOFF_BASE_S, BACKOFF_CAP_S, backoff_s

if TYPE_CHECKING:
    from agentregistry_client.client import RegistryClient

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 30.0  # until the server announces its own
FINAL_REASONS = {"STREAM_SUPERSEDED", "AGENT_DELETED", "AGENT_SUSPENDED", "AGENT_TAKEN_DOWN"}
FINAL_CODES = {
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION,
}
_CLOSED = object()


def _bearer(metadata: tuple[tuple[str, str], ...]) -> str | None:
    """The session token a stream was opened with (None for an API key)."""
    for key, value in metadata:
        if key == "authorization" and value.startswith("Bearer "):
            return value[len("Bearer ") :]
    return None


class _Events:
    def __init__(self, presence: Presence) -> None:
        self._presence = presence

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> resources_pb2.Event:
        item = await self._presence._events.get()
        if item is _CLOSED:
            self._presence._events.put_nowait(_CLOSED)  # for any other reader
            if self._presence.error is not None:
                raise self._presence.error
            raise StopAsyncIteration
        assert isinstance(item, resources_pb2.Event)
        return item


@dataclass
class _StreamState:
    acked: bool = False
    reconnect: presence_service_pb2.Reconnect | None = None
    error: RegistryError | None = None


class Presence:
    """`async with client.presence() as presence:` holds the agent online until the block ends."""

    def __init__(
        self,
        client: RegistryClient,
        *,
        status: convert.StatusLike = "online",
        load: float = 0.0,
        reconnect_jitter_s: float = 1.0,
        backoff_base_s: float = BACKOFF_BASE_S,
        backoff_cap_s: float = BACKOFF_CAP_S,
        offline_on_exit: bool = True,
        connect_timeout_s: float | None = 30.0,
        event_buffer: int = 1024,
    ) -> None:
        self._client = client
        self.status = convert.agent_status(status)
        self.load = load
        self.reconnect_jitter_s = reconnect_jitter_s
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.offline_on_exit = offline_on_exit
        self.connect_timeout_s = connect_timeout_s
        self.interval_s = DEFAULT_INTERVAL_S
        self.ttl_s: float | None = None
        self.connections = 0  # streams the server acknowledged
        self.last_ack: presence_service_pb2.HeartbeatAck | None = None
        self.last_reconnect: presence_service_pb2.Reconnect | None = None
        self.dropped_events = 0
        self.error: RegistryError | None = None
        self._events: asyncio.Queue[resources_pb2.Event | object] = asyncio.Queue(event_buffer)
        self._connected = asyncio.Event()
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._beat_now = False
        self._sequence = 0
        self._task: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Presence:
        self.start()
        await self.wait_connected(self.connect_timeout_s)
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> Presence:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="agentregistry-presence")
        return self

    async def wait_connected(self, timeout_s: float | None = None) -> None:
        """Until the server acknowledged a beat; PresenceEnded if it refused the stream."""
        assert self._task is not None, "start() first"
        connected = asyncio.ensure_future(self._connected.wait())
        try:
            await asyncio.wait(
                {connected, self._task}, timeout=timeout_s, return_when="FIRST_COMPLETED"
            )
        finally:
            connected.cancel()
        if self.error is not None:
            raise self.error
        if not self._connected.is_set():
            raise asyncio.TimeoutError(f"no heartbeat acknowledged within {timeout_s} s")

    def update(self, status: convert.StatusLike | None = None, load: float | None = None) -> None:
        """Report a new status or load now (and with every beat after)."""
        if status is not None:
            self.status = convert.agent_status(status)
        if load is not None:
            self.load = load
        self._beat_now = True
        self._wake.set()

    def events(self) -> AsyncIterator[resources_pb2.Event]:
        """Events the server pushes down the stream, until presence stops.

        A plain iterator over a queue, not a generator, so waiting on it with a timeout
        (`asyncio.wait_for(anext(events), 5)`) cancels only that wait.
        """
        return _Events(self)

    async def wait(self) -> None:
        """Until presence stops; raises PresenceEnded if the server ended it for good."""
        if self._task is not None:
            await asyncio.shield(self._task)
        if self.error is not None:
            raise self.error

    async def stop(self) -> None:
        """Say goodbye (an OFFLINE beat unless offline_on_exit is False) and close the stream."""
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), 10)
            except asyncio.TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._refresh is not None:
            self._refresh.cancel()

    async def _run(self) -> None:
        attempt = 0
        try:
            while not self._stop.is_set():
                try:
                    metadata = await self._client.credentials.metadata(required=True)
                except RegistryError as error:
                    if error.code in FINAL_CODES:
                        self.error = PresenceEnded(error.code, error.message, error.reason)
                        return
                    await self._sleep(backoff_s(attempt, self.backoff_base_s, self.backoff_cap_s))
                    attempt += 1
                    continue
                state = await self._hold(metadata)
                if self._stop.is_set():
                    return
                if state.acked:
                    attempt = 0
                ended = state.error
                if ended is not None and (
                    ended.reason in FINAL_REASONS or ended.code in FINAL_CODES
                ):
                    self.error = PresenceEnded(ended.code, ended.message, ended.reason)
                    return
                if ended is not None and ended.code == grpc.StatusCode.UNAUTHENTICATED:
                    # The stream's session was refused, ended or expired; a session renewed
                    # since (in the background) reopens without a login.
                    self._client.credentials.forget(_bearer(metadata))
                if state.reconnect is not None:
                    delay = state.reconnect.retry_after.ToTimedelta().total_seconds()
                    delay += random.uniform(0.0, self.reconnect_jitter_s)
                elif ended is not None and ended.retry_after_s is not None:
                    # A refused open (the server was busy): its delay already spreads the
                    # herd; the jitter keeps agents refused together from returning together.
                    delay = ended.retry_after_s + random.uniform(0.0, self.reconnect_jitter_s)
                else:
                    delay = backoff_s(attempt, self.backoff_base_s, self.backoff_cap_s)
                    attempt += 1
                log.info("heartbeat stream ended (%s); reconnecting in %.1f s", ended, delay)
                await self._sleep(delay)
        finally:
            self._connected.clear()
            self._put(_CLOSED)

    async def _hold(self, metadata: tuple[tuple[str, str], ...]) -> _StreamState:
        """One stream from open to end: the writer here, the reader in its own task."""
        state = _StreamState()
        call = self._client.presence_stub.Heartbeat(metadata=metadata)
        reader = asyncio.create_task(self._read(call, state, ServerStatus(call)))
        last_sent = float("-inf")
        try:
            while not reader.done() and not self._stop.is_set():
                self._wake.clear()
                if self._beat_now or time.monotonic() >= last_sent + self.interval_s:
                    self._beat_now = False
                    last_sent = time.monotonic()
                    if not await self._write(call, self.status):
                        break
                self._renew_session_if_due()
                timeout = max(0.0, last_sent + self.interval_s - time.monotonic())
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
            if self._stop.is_set() and not reader.done():
                if self.offline_on_exit:
                    await self._write(call, resources_pb2.AGENT_STATUS_OFFLINE)
                with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                    await call.done_writing()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), 5)
        finally:
            if not reader.done():
                call.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        return state

    async def _write(self, call: grpc.aio.StreamStreamCall, status: int) -> bool:  # type: ignore[type-arg]
        self._sequence += 1
        beat = presence_service_pb2.HeartbeatRequest(
            sequence=self._sequence,
            status=status,  # type: ignore[arg-type]
            load=self.load,
        )
        try:
            await call.write(beat)
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            return False  # the stream has ended; the reader reports how
        return True

    async def _read(
        self,
        call: grpc.aio.StreamStreamCall,  # type: ignore[type-arg]
        state: _StreamState,
        server: ServerStatus,
    ) -> None:
        try:
            while (response := await call.read()) is not grpc.aio.EOF:
                assert isinstance(response, presence_service_pb2.HeartbeatResponse)
                kind = response.WhichOneof("kind")
                if kind == "ack":
                    self._on_ack(response.ack, state)
                elif kind == "new_interval":
                    self.interval_s = response.new_interval.ToTimedelta().total_seconds()
                    self._wake.set()
                elif kind == "event":
                    self._put(response.event)
                elif kind == "reconnect":
                    state.reconnect = self.last_reconnect = response.reconnect
        except grpc.aio.AioRpcError as error:  # the server's, even if a beat was in flight
            state.error = RegistryError.from_rpc(await server.error(error))
        finally:
            self._connected.clear()
            self._wake.set()

    def _on_ack(self, ack: presence_service_pb2.HeartbeatAck, state: _StreamState) -> None:
        if ack.HasField("interval"):
            self.interval_s = ack.interval.ToTimedelta().total_seconds()
            self._wake.set()
        if ack.HasField("ttl"):
            self.ttl_s = ack.ttl.ToTimedelta().total_seconds()
        self.last_ack = ack
        if not state.acked:
            state.acked = True
            self.connections += 1
            self._connected.set()

    def _put(self, item: resources_pb2.Event | object) -> None:
        if self._events.full():
            self._events.get_nowait()
            self.dropped_events += 1
        self._events.put_nowait(item)

    def _renew_session_if_due(self) -> None:
        session = self._client.credentials.session
        due = session is not None and time.monotonic() >= session.refresh_at
        if due and (self._refresh is None or self._refresh.done()):
            self._refresh = asyncio.create_task(self._renew_session())

    async def _renew_session(self) -> None:
        try:
            await self._client.credentials.token()
        except RegistryError as error:  # the next reopen logs in again
            log.warning("could not renew the session: %s", error)

    async def _sleep(self, delay_s: float) -> None:
        """Sleep, or less if stop() is called."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), delay_s)
