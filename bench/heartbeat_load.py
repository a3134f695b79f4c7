"""Load generator for the heartbeat bench: one process holding many streams over a few
HTTP/2 connections, cheap enough per stream that the server gets its share of the machine.

It speaks HTTP/2 framing itself (request headers HPACK-encoded once per stream with
`hpack`; beats pre-encoded gRPC messages): no gRPC call object, task or timer per stream.
One timer wheel sends every beat due in a tick, one write per connection per tick, and an
ack's latency runs from that write to the moment its DATA frame is read. Response header
blocks go through the HPACK decoder (the connection's table stays in step); trailers give
the grpc-status and any google.rpc.RetryInfo of a refusal, whose delay (plus jitter) the
stream waits before it reopens, as agents do.

Driven by JSON lines on stdin, answering JSON lines on stdout:
  {"cmd": "open", "deadline_s": s, "interval": s}  open every stream (first beat acked)
  {"cmd": "phase", "interval": s, "duration": s, "silence": k}
                                                    beat at `interval` for `duration`; the
                                                    first k streams stop beating at once
  {"cmd": "quit"}
"""

from __future__ import annotations

import asyncio
import base64
import gc
import json
import random
import struct
import sys
import time
from collections import defaultdict
from typing import Any

import uvloop
from agentregistry.v1 import presence_service_pb2 as pb
from google.rpc import error_details_pb2, status_pb2
from hpack import Decoder, Encoder

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_DATA, _HEADERS, _RST, _SETTINGS, _PING, _GOAWAY, _WINDOW = 0, 1, 3, 4, 6, 7, 8
_END_STREAM, _ACK, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20
_MAX_WINDOW = 2**31 - 1
_PATH = "/agentregistry.v1.PresenceService/Heartbeat"
TICK_S = 0.02
OPEN_TIMEOUT_S = 30.0
# Distinct pre-encoded beats: sequence numbers cycle through them.
_BEATS = [
    (lambda body: struct.pack(">BI", 0, len(body)) + body)(
        pb.HeartbeatRequest(sequence=k + 1, load=0.1).SerializeToString()
    )
    for k in range(1024)
]


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return (
        struct.pack(">I", len(payload))[1:]
        + bytes((kind, flags))
        + struct.pack(">I", stream_id)
        + payload
    )


class Stream:
    __slots__ = ("conn", "index", "opened", "sent_at", "sequence", "sid", "started")

    def __init__(self, index: int) -> None:
        self.index = index
        self.conn: Connection | None = None
        self.sid = 0
        self.sequence = 0
        self.sent_at = 0.0  # when the beat awaiting its ack went out; 0.0: none
        self.opened = False  # its first beat on the current HTTP/2 stream was acked
        self.started = 0.0  # when the current open was sent


class Connection(asyncio.Protocol):
    def __init__(self, load: Load) -> None:
        self.load = load
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.out: list[bytes] = []
        self.encoder, self.decoder = Encoder(), Decoder()
        self.decoder.max_allowed_table_size = 65536
        self.next_sid = 1
        self.streams: dict[int, Stream] = {}
        self.received = 0
        self.send_window = 65535
        self.closed = False
        self.headers_sid = 0
        self.headers_block = bytearray()
        self.headers_flags = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  (uvloop's is no subclass)
        settings = struct.pack(">HI", 2, 0) + struct.pack(">HI", 4, _MAX_WINDOW)
        self.transport.write(
            _PREFACE
            + frame(_SETTINGS, 0, 0, settings)
            + frame(_WINDOW, 0, 0, struct.pack(">I", _MAX_WINDOW - 65535))
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for stream in list(self.streams.values()):
            self.load.ended(stream, "CONNECTION_LOST", None)
        self.streams.clear()

    def open(self, stream: Stream, token: str) -> None:
        sid, self.next_sid = self.next_sid, self.next_sid + 2
        block = self.encoder.encode(
            [
                (":method", "POST"),
                (":scheme", "http"),
                (":path", _PATH),
                (":authority", self.load.authority),
                ("content-type", "application/grpc"),
                ("te", "trailers"),
                ("authorization", f"Bearer {token}"),
            ]
        )
        stream.conn, stream.sid, stream.opened = self, sid, False
        self.streams[sid] = stream
        self.out.append(frame(_HEADERS, _END_HEADERS, sid, block))
        self.beat(stream)

    def beat(self, stream: Stream) -> None:
        stream.sequence += 1
        body = _BEATS[stream.sequence % 1024]
        self.out.append(frame(_DATA, 0, stream.sid, body))
        self.send_window -= len(body)

    def cancel(self, stream: Stream) -> None:
        if self.streams.pop(stream.sid, None) is not None:
            self.out.append(frame(_RST, 0, stream.sid, struct.pack(">I", 8)))

    def flush(self, now: float) -> None:
        """Everything queued this tick in one write (held while the server's window is
        spent: it reopens it as it reads)."""
        if self.out and self.transport is not None and not self.closed and self.send_window > 0:
            self.transport.write(b"".join(self.out))
            self.out.clear()

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        offset, size, now = 0, len(buffer), time.perf_counter()
        while size - offset >= 9:
            length = int.from_bytes(buffer[offset : offset + 3], "big")
            if size - offset < 9 + length:
                break
            kind, flags = buffer[offset + 3], buffer[offset + 4]
            sid = int.from_bytes(buffer[offset + 5 : offset + 9], "big") & _MAX_WINDOW
            payload = bytes(buffer[offset + 9 : offset + 9 + length])
            offset += 9 + length
            if kind == _DATA:
                self.received += length
                stream = self.streams.get(sid)
                if stream is not None and stream.sent_at:
                    self.load.acked(stream, now)
            elif kind in (_HEADERS, 9):  # HEADERS or CONTINUATION
                self.header_frame(kind, flags, sid, payload)
            elif kind == _RST:
                stream = self.streams.pop(sid, None)
                if stream is not None:
                    self.load.ended(stream, f"RST_{int.from_bytes(payload, 'big')}", None)
            elif kind == _SETTINGS and not flags & _ACK:
                self.out.append(frame(_SETTINGS, _ACK, 0))
            elif kind == _PING and not flags & _ACK:
                self.out.append(frame(_PING, _ACK, 0, payload))
            elif kind == _WINDOW and sid == 0:
                self.send_window += int.from_bytes(payload, "big") & _MAX_WINDOW
            elif kind == _GOAWAY:
                self.load.count(self.load.state.errors, "GOAWAY")
        del buffer[:offset]
        if self.received > 1 << 30:
            self.out.append(frame(_WINDOW, 0, 0, struct.pack(">I", self.received)))
            self.received = 0
        self.flush(now)

    def header_frame(self, kind: int, flags: int, sid: int, payload: bytes) -> None:
        if kind == _HEADERS:
            start = 0
            if flags & _PADDED:
                start, payload = 1, payload[: len(payload) - payload[0]]
            if flags & _PRIORITY:
                start += 5
            self.headers_sid, self.headers_flags = sid, flags
            self.headers_block = bytearray(payload[start:])
        else:
            self.headers_block += payload
        if not flags & _END_HEADERS:
            return
        headers = dict(self.decoder.decode(bytes(self.headers_block), raw=True))
        if not self.headers_flags & _END_STREAM:
            return  # the response's headers; its trailers end it
        stream = self.streams.pop(self.headers_sid, None)
        if stream is None:
            return
        code = int(headers.get(b"grpc-status", b"2"))
        delay = None
        details = headers.get(b"grpc-status-details-bin")
        if details:
            status = status_pb2.Status.FromString(base64.b64decode(details + b"=="))
            for detail in status.details:
                if detail.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                    info = error_details_pb2.RetryInfo()
                    detail.Unpack(info)
                    delay = info.retry_delay.ToTimedelta().total_seconds()
        self.load.ended(stream, _CODES.get(code, str(code)), delay)


_CODES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 4: "DEADLINE_EXCEEDED", 5: "NOT_FOUND",
    8: "RESOURCE_EXHAUSTED", 10: "ABORTED", 13: "INTERNAL", 14: "UNAVAILABLE",
    16: "UNAUTHENTICATED",
}  # fmt: skip


class State:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.acks = 0
        self.errors: dict[str, int] = {}
        self.open_errors: dict[str, int] = {}
        self.retry_delays: list[float] = []


class Load:
    """Every stream of this process, the timer wheel that beats them and the reopen queue."""

    def __init__(self, target: str, tokens: list[str], connection_count: int) -> None:
        self.target, self.authority = target, target
        self.tokens = tokens
        self.streams = [Stream(i) for i in range(len(tokens))]
        self.connection_count = connection_count
        self.connections: list[Connection] = []
        self.state = State()
        self.interval = 30.0
        self.silenced: set[int] = set()
        self.last_beat: dict[int, float] = {}
        self.wheel: dict[int, list[Stream]] = defaultdict(list)
        self.opening: dict[int, Stream] = {}
        self.reopen_at: dict[int, list[Stream]] = defaultdict(list)
        self.max_opening = 500
        self.waiting: list[Stream] = []  # to open, as `opening` has room

    def slot(self, at: float) -> int:
        return int(at / TICK_S)

    def schedule(self, stream: Stream, delay: float) -> None:
        self.wheel[self.slot(time.perf_counter() + delay)].append(stream)

    def count(self, table: dict[str, int], code: str) -> None:
        table[code] = table.get(code, 0) + 1

    def acked(self, stream: Stream, now: float) -> None:
        self.last_beat[stream.index] = time.time()
        if not stream.opened:
            stream.opened = True
            self.opening.pop(stream.index, None)
            stream.sent_at = 0.0
            self.schedule(stream, random.uniform(0, self.interval))
            return
        self.state.latencies.append(now - stream.sent_at)
        self.state.acks += 1
        stream.sent_at = 0.0
        self.schedule(stream, self.interval)

    def ended(self, stream: Stream, code: str, delay: float | None) -> None:
        """A refused open waits its RetryInfo delay (with jitter) or a jittered pause; an
        ended stream reopens the same way, as an agent's client does."""
        was_open = stream.opened
        stream.opened, stream.sent_at, stream.conn = False, 0.0, None
        self.opening.pop(stream.index, None)
        if stream.index in self.silenced:
            return
        self.count(self.state.errors if was_open else self.state.open_errors, code)
        if delay is not None:
            self.state.retry_delays.append(delay)
            wait = delay * random.uniform(1.0, 1.5)
        else:
            wait = random.uniform(1.0, 5.0)
        self.reopen_at[self.slot(time.perf_counter() + wait)].append(stream)

    async def connect(self) -> None:
        host, port = self.target.rsplit(":", 1)
        loop = asyncio.get_running_loop()
        for _ in range(self.connection_count):
            _, protocol = await loop.create_connection(lambda: Connection(self), host, int(port))
            self.connections.append(protocol)

    def start_open(self, stream: Stream) -> None:
        live = [c for c in self.connections if not c.closed]
        if not live:
            return
        conn = live[stream.index % len(live)]
        stream.started = time.perf_counter()
        self.opening[stream.index] = stream
        conn.open(stream, self.tokens[stream.index])
        stream.sent_at = stream.started

    async def run(self) -> None:
        """The one timer: beats due, reopens due, opens as room allows, stuck opens."""
        current = self.slot(time.perf_counter())
        while True:
            await asyncio.sleep(TICK_S)
            now = time.perf_counter()
            last = self.slot(now)
            for slot in range(current, last + 1):
                for stream in self.reopen_at.pop(slot, ()):
                    self.waiting.append(stream)
                for stream in self.wheel.pop(slot, ()):
                    conn = stream.conn
                    if conn is None or not stream.opened or stream.index in self.silenced:
                        continue
                    if stream.sent_at:  # still waiting for its last ack
                        self.schedule(stream, self.interval)
                        continue
                    stream.sent_at = now
                    conn.beat(stream)
            current = last + 1
            while self.waiting and len(self.opening) < self.max_opening:
                self.start_open(self.waiting.pop())
            if self.opening and random.random() < 0.05:
                for stream in [
                    s for s in self.opening.values() if now - s.started > OPEN_TIMEOUT_S
                ]:
                    if stream.conn is not None:
                        stream.conn.cancel(stream)
                    self.ended(stream, "OPEN_TIMEOUT", None)
            for conn in self.connections:
                conn.flush(now)

    def reschedule(self, interval: float) -> None:
        """A new phase: every held stream beats at the new interval from a random offset."""
        self.interval = interval
        self.wheel.clear()
        for stream in self.streams:
            if stream.opened:
                self.schedule(stream, random.uniform(0, interval))


async def main(target: str, tokens: list[str], connection_count: int) -> None:
    load = Load(target, tokens, connection_count)
    await load.connect()
    ticker = asyncio.create_task(load.run())
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def reply(payload: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(payload) + "\n")
        sys.stdout.flush()

    while line := await reader.readline():
        command = json.loads(line)
        state = load.state
        if command["cmd"] == "open":
            started = time.perf_counter()
            load.interval = float(command.get("interval", load.interval))
            wanted = load.streams
            load.waiting = [s for s in reversed(wanted) if not s.opened]
            deadline = started + float(command.get("deadline_s", 300.0))
            while time.perf_counter() < deadline:
                if all(s.opened for s in wanted):
                    break
                await asyncio.sleep(0.1)
            ok = sum(1 for s in wanted if s.opened)
            gc.collect()
            gc.freeze()
            reply(
                {
                    "opened": ok,
                    "failed": len(wanted) - ok,
                    "open_s": time.perf_counter() - started,
                    "errors": dict(state.errors),
                    "open_errors": dict(state.open_errors),
                    "retry_delays": len(state.retry_delays),
                }
            )
        elif command["cmd"] == "phase":
            state.latencies, state.acks, state.errors = [], 0, {}
            load.silenced = set(range(int(command.get("silence", 0))))
            started = time.perf_counter()
            load.reschedule(float(command["interval"]))
            await asyncio.sleep(float(command["duration"]))
            elapsed = time.perf_counter() - started
            reply(
                {
                    "acks": state.acks,
                    "elapsed_s": elapsed,
                    "latencies_ms": [round(x * 1000, 2) for x in state.latencies],
                    "errors": dict(state.errors),
                    "silenced_last_beat": {
                        str(i): load.last_beat.get(i, 0.0) for i in load.silenced
                    },
                    "live": sum(1 for s in load.streams if s.opened),
                }
            )
        elif command["cmd"] == "quit":
            break
    ticker.cancel()
    for conn in load.connections:
        if conn.transport is not None:
            conn.transport.close()


if __name__ == "__main__":
    target, token_file, first, count, channels = sys.argv[1:6]
    with open(token_file) as handle:
        all_tokens = handle.read().split("\n")
    mine = all_tokens[int(first) : int(first) + int(count)]
    gc.set_threshold(50_000, 50, 100)
    uvloop.run(main(target, mine, int(channels)))
