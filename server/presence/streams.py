"""The heartbeat streams open in this process, one per agent.

Each stream has an outbox for what is not the answer to a beat: pushes (events, a
new interval, a reconnect notice), the ack of a beat that ends the stream, and,
last, how the stream ends. Anything in the process may push to an agent's stream
through `push`; that is the hook the event feed uses to deliver events for an agent
down its heartbeat stream. Whoever serves the stream (server/presence/servicer.py)
is told of every item through `notify`.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from server.auth.store import ANY_SESSION, SESSION_CREDENTIAL
from server.domain import refusals
from server.domain.agents import AgentStatus
from server.observability.metrics import HEARTBEAT_STREAMS


class EndKind(enum.StrEnum):
    COMPLETED = "completed"  # the client half-closed
    SUPERSEDED = "superseded"  # a newer stream of the same agent opened
    SILENT = "silent"  # no beat within the TTL
    DELETED = "deleted"  # the agent was deleted
    SUSPENDED = "suspended"  # an operator suspended the agent
    TAKEN_DOWN = "taken_down"  # an operator took the agent down
    INVALID = "invalid"  # a malformed beat
    REVOKED = "revoked"  # the credential it was opened with was revoked
    EXPIRED = "expired"  # the session it was opened with expired
    KEY_EXPIRED = "key_expired"  # the API key it was opened with expired
    SHUTDOWN = "shutdown"  # the server is stopping


@dataclass(frozen=True, slots=True)
class StreamEnd:
    kind: EndKind
    message: str


class Ack(NamedTuple):
    """One per beat: a named tuple, as a frozen dataclass costs a setattr per field."""

    sequence: int
    status: AgentStatus
    server_time: float
    first: bool


@dataclass(frozen=True, slots=True)
class NewInterval:
    interval_s: float


@dataclass(frozen=True, slots=True)
class Reconnect:
    reason: str
    retry_after_s: float


# Anything else in an outbox is an event payload for the servicer to send as is.
Outgoing = Ack | NewInterval | Reconnect | StreamEnd | object


@dataclass(eq=False, slots=True)
class OpenStream:
    agent_id: str
    stream_id: str
    replaced: str | None = None  # the agent's stream this one's claim replaced in Redis
    # The credential it was opened with (server/auth/store.py), which revoking it names,
    # and when (monotonic) that session or API key expires, if it does.
    credential: str = ""
    expires: float | None = None
    status: AgentStatus = AgentStatus.ONLINE
    last_beat: float = field(default_factory=time.monotonic)
    beats: int = 0
    ended: bool = False
    outbox: collections.deque[Outgoing] = field(default_factory=collections.deque)
    # One message in flight: the stream's task (acks) and the task writing its outbox both
    # send (server/presence/servicer.py).
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Set by whoever serves the stream: called after every item put in the outbox.
    notify: Callable[[], None] | None = None
    # The serving side's own state (server/presence/servicer.py): whether its task waits
    # for the next beat (an ending interrupts that wait), and the task writing the outbox.
    waiting: bool = False
    interrupted: bool = False
    reading: bool = False  # waiting for the client's next beat (not for a failed write)
    writer: asyncio.Future[Any] | None = None

    def send(self, item: Outgoing) -> None:
        if not self.ended:
            self.outbox.append(item)
            if self.notify is not None:
                self.notify()

    def end(self, kind: EndKind, message: str) -> None:
        """Ask the stream to finish; only the first ending counts."""
        if not self.ended:
            self.outbox.append(StreamEnd(kind, message))
            self.ended = True
            if self.notify is not None:
                self.notify()


def names(selector: str, stream: OpenStream) -> bool:
    """Whether a control notice's selector (a stream id, `*`, a credential id or
    ANY_SESSION) names this stream."""
    if selector in ("*", stream.stream_id):
        return True
    if not stream.credential:
        return False
    if selector == ANY_SESSION:
        return stream.credential.startswith(SESSION_CREDENTIAL)
    return selector == stream.credential


def revoked_message(selector: str) -> str:
    """Which revocation ended a stream, by how its notice named the credential."""
    if selector == ANY_SESSION:
        return "the agent's key was rotated, which ended the session this stream was opened with"
    if selector.startswith(SESSION_CREDENTIAL):
        return "the session this stream was opened with was ended"
    return "the API key this stream was opened with was deleted"


class OpenGate:
    """Stream opens in this process, bounded twice: in flight at once (`limit`, what waits
    on Redis) and begun per second (`rate`, a token bucket). When every agent reconnects at
    once (a restart of all of them), the opens past either bound are refused at once with
    UNAVAILABLE and a retry delay drawn over the time the refused ones need to get in at
    that rate, so the herd comes back spread out instead of waiting until deadlines pass."""

    def __init__(self, limit: int, rate: float) -> None:
        self.limit = limit
        self.rate = rate
        self.in_flight = 0
        self.refused_total = 0
        self._tokens = rate
        self._filled = time.monotonic()
        self._refused = 0.0  # refusals lately, decaying at `rate` a second

    def enter(self) -> None:
        now = time.monotonic()
        elapsed, self._filled = now - self._filled, now
        self._tokens = min(self.rate, self._tokens + elapsed * self.rate)
        self._refused = max(0.0, self._refused - elapsed * self.rate)
        if self.in_flight >= self.limit or self._tokens < 1.0:
            self._refused += 1.0
            self.refused_total += 1
            spread = min(MAX_OPEN_SPREAD_S, max(2.0, 1.0 + self._refused / self.rate))
            raise refusals.stream_opens_busy(random.uniform(1.0, spread))
        self._tokens -= 1.0
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1


# The longest retry delay an open is told to wait: the herd is spread over at most this.
MAX_OPEN_SPREAD_S = 60.0


class StreamRegistry:
    def __init__(self, max_opening: int = 1000, max_open_rate: float = 2000.0) -> None:
        self._by_agent: dict[str, OpenStream] = {}
        self.gate = OpenGate(max_opening, max_open_rate)

    def __len__(self) -> int:
        return len(self._by_agent)

    def add(self, stream: OpenStream) -> OpenStream | None:
        """Register the stream; returns the agent's previous local stream, if any."""
        previous = self._by_agent.get(stream.agent_id)
        self._by_agent[stream.agent_id] = stream
        HEARTBEAT_STREAMS.set(len(self._by_agent))
        return previous

    def remove(self, stream: OpenStream) -> None:
        if self._by_agent.get(stream.agent_id) is stream:
            del self._by_agent[stream.agent_id]
            HEARTBEAT_STREAMS.set(len(self._by_agent))

    def get(self, agent_id: str) -> OpenStream | None:
        return self._by_agent.get(agent_id)

    def push(self, agent_id: str, item: Outgoing) -> bool:
        """Send to the agent's stream if it is open here; False if it is not."""
        stream = self._by_agent.get(agent_id)
        if stream is None or stream.ended:
            return False
        stream.send(item)
        return True

    def end_silent(self, ttl_s: float) -> int:
        """One scan over the process's streams ends those silent past the TTL, and those
        whose session or API key has expired (a scan, not a timer per stream)."""
        now = time.monotonic()
        cutoff = now - ttl_s
        silent = 0
        for stream in list(self._by_agent.values()):
            if stream.ended:
                continue
            if stream.expires is not None and stream.expires <= now:
                if stream.credential.startswith(SESSION_CREDENTIAL):
                    stream.end(EndKind.EXPIRED, "the session this stream was opened with expired")
                else:
                    stream.end(EndKind.KEY_EXPIRED, "the API key it was opened with expired")
            elif stream.last_beat < cutoff:
                stream.end(EndKind.SILENT, f"no heartbeat for {ttl_s:g} s")
                silent += 1
        return silent

    def end_all(self, kind: EndKind, message: str) -> None:
        for stream in list(self._by_agent.values()):
            stream.end(kind, message)

    def drain(self, reason: str, spread_s: float) -> None:
        """Before a restart: each stream is told to reconnect after its own random delay (so
        100k agents do not return in the same second), then ends with UNAVAILABLE."""
        for stream in list(self._by_agent.values()):
            stream.send(Reconnect(reason, random.uniform(1.0, max(1.0, spread_s))))
            stream.end(EndKind.SHUTDOWN, reason)
