"""Presence use cases, shared by the heartbeat stream and the unary RPCs.

A beat never touches Postgres: it lands in the process's coalescer, which
writes Redis in batches; the flush job carries status and last-seen to
Postgres in bulk and the sweep marks silent agents offline.

Acks are sent as soon as a beat is queued for the next coalesced write (at
most `presence_write_interval_ms` later it is in Redis): waiting for the
write would put the Redis round trip and the batching delay into every ack's
latency for no gain, since a beat lost to a crash in that window is repaired
by the next one (the TTL spans three beats). Unary calls do wait, so a
client reading right after SendHeartbeat or SetStatus sees its write.

A unary beat and a stream opening do not wait for the coalescer's tick: each is
one script of its own, written at once, that also checks the caller's session
and counts its budget (the call's session ticket, server/hot/ticket.py), so
either costs one Redis round trip and no batching delay.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from db.uow import UnitOfWorkFactory
from server.auth.store import api_key_credential, session_credential
from server.domain import failures, principal, refusals
from server.domain.agents import Agent, AgentState, AgentStatus
from server.domain.errors import (
    InvalidArgument,
    Unavailable,
)
from server.hot.ticket import AdmitCheck, SessionTicket
from server.observability.metrics import HEARTBEATS
from server.presence.coalescer import BeatCoalescer
from server.presence.store import Admitted, PresenceRecord, PresenceStore, PresenceWrite, decode
from server.presence.streams import Ack, EndKind, OpenStream, StreamRegistry, names, revoked_message

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Presence:
    agent_id: str
    status: AgentStatus
    last_seen_at: datetime | None
    load: float
    streaming: bool


_END_MESSAGES = {
    EndKind.SUPERSEDED: "a newer heartbeat stream replaced this one",
    EndKind.DELETED: "the agent was deleted",
    EndKind.SUSPENDED: "the agent was suspended",
    EndKind.TAKEN_DOWN: "the agent was taken down",
}
# Endings that leave the agent nothing to be present for: a beat this process still holds
# for it is dropped, and (but for a deleted agent, whose presence is removed) it reads
# offline, whatever a beat written elsewhere meanwhile said.
_WITHDRAWN = {AgentState.SUSPENDED: EndKind.SUSPENDED, AgentState.TAKEN_DOWN: EndKind.TAKEN_DOWN}
_GONE = {EndKind.DELETED, *_WITHDRAWN.values()}


def _stream_id() -> str:
    """16 hex digits from the process's seeded generator (reseeded in a forked child): an
    id that only tells an agent's streams apart needs no secrecy, and secrets.token_hex
    reads os.urandom, a system call per opening."""
    return f"{random.getrandbits(64):016x}"


def _check_load(load: float) -> None:
    if not math.isfinite(load) or not 0.0 <= load <= 1.0:
        raise InvalidArgument.field("load", "must be between 0.0 and 1.0")


def _caller(caller: principal.Principal | None) -> principal.Principal:
    if caller is None:
        raise refusals.session_required()
    return caller


async def _settle(session: SessionTicket | None, admitted: Admitted) -> None:
    """The script's verdict on the caller: raises for a refusal (nothing was written)."""
    if session is not None:
        await session.settle(admitted.verdict, admitted.agent_id, admitted.verified, admitted.count)
    if admitted.verdict == "not_owner":
        raise refusals.not_owner(admitted.agent_id)


class PresenceService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        store: PresenceStore,
        coalescer: BeatCoalescer,
        streams: StreamRegistry,
        *,
        interval_s: float,
        ttl_s: float,
    ) -> None:
        self._uow = uow
        self._store = store
        self._coalescer = coalescer
        self.streams = streams
        self.interval_s = interval_s
        self.ttl_s = ttl_s

    # Streams.

    async def open_stream(
        self, caller: principal.Principal | None, session: SessionTicket | None = None
    ) -> OpenStream:
        """The caller's agent gets a stream; an older one, here or elsewhere, is ended.

        The claim (and, for a session token taken from the call, `session`, the caller's
        check) is one script, written at once; a claim whose call ended meanwhile is
        released again."""
        check, agent_id, credential = AdmitCheck.none(), "", ""
        expires_in: float | None = None  # seconds its credential has left, if it expires
        if session is not None:
            check = session.check
            credential = session_credential(check.session_key)
        else:
            caller = _caller(caller)
            agent_id = caller.agent_id
            if caller.api_key_id is not None:
                credential = api_key_credential(caller.api_key_id)
            if caller.expires_at is not None:
                expires_in = caller.expires_at - time.time()
        stream_id = _stream_id()
        release = functools.partial(self._release_claim, stream_id)
        self.streams.gate.enter()
        try:
            claimed = await self._store.claim(check, agent_id, stream_id, release)
        finally:
            self.streams.gate.leave()
        admitted, agent_id, replaced = claimed.admitted, claimed.agent_id, claimed.replaced
        try:
            await _settle(session, admitted)
        except BaseException:  # refused after the claim (a budget counted the ordinary way)
            if admitted.verdict == "ok":
                self._coalescer.release(agent_id, stream_id)
            raise
        stream = OpenStream(agent_id, stream_id, replaced=replaced, credential=credential)
        if claimed.session_left_s is not None:
            expires_in = claimed.session_left_s
        if expires_in is not None:
            stream.expires = time.monotonic() + expires_in
        previous_here = self.streams.add(stream)
        if previous_here is not None:
            if previous_here.replaced == stream_id:  # that one claimed after this one
                self.streams.add(previous_here)
                stream.end(EndKind.SUPERSEDED, "a newer heartbeat stream replaced this one")
                return stream
            previous_here.end(EndKind.SUPERSEDED, "a newer heartbeat stream replaced this one")
        if replaced is not None and (previous_here is None or replaced != previous_here.stream_id):
            await self._store.publish_control(
                f"{stream.agent_id} {replaced} {EndKind.SUPERSEDED.value}"
            )
        return stream

    def _release_claim(self, stream_id: str, admitted: Admitted, agent_id: str) -> None:
        """A claim that landed for a call that did not wait for it is given up again."""
        if admitted.verdict == "ok":
            self._coalescer.release(agent_id, stream_id)

    def beat(
        self, stream: OpenStream, sequence: int, status: AgentStatus | None, load: float
    ) -> Ack:
        """The hot path: validate, queue the write, answer. No I/O."""
        _check_load(load)
        status = status or stream.status
        stream.status = status
        stream.last_beat = time.monotonic()
        now = time.time()
        self._coalescer.submit(PresenceWrite(stream.agent_id, status, load, now))
        first = stream.beats == 0
        stream.beats += 1
        HEARTBEATS.inc()
        if status is AgentStatus.OFFLINE:
            stream.send(Ack(sequence, status, now, first))
            stream.end(EndKind.COMPLETED, "the agent went offline")
        return Ack(sequence, status, now, first)

    def close_stream(self, stream: OpenStream) -> None:
        stream.ended = True
        self.streams.remove(stream)
        self._coalescer.release(stream.agent_id, stream.stream_id)

    def end_stream(self, agent_id: str, stream_id: str, kind: EndKind) -> bool:
        """End a local stream named by a control notice: its id, `*` (whichever is open)
        or the credential it was opened with (streams.names)."""
        stream = self.streams.get(agent_id)
        if kind in _GONE:
            queued = self._coalescer.discard(agent_id)
            if kind is not EndKind.DELETED and (queued or stream is not None):
                self._coalescer.submit(
                    PresenceWrite(agent_id, AgentStatus.OFFLINE, 0.0, time.time())
                )
        if stream is None or not names(stream_id, stream):
            return False
        message = _END_MESSAGES.get(kind, "the server ended the stream")
        if kind is EndKind.REVOKED:
            message = revoked_message(stream_id)
        stream.end(kind, message)
        return True

    # Unary calls.

    async def send_heartbeat(
        self,
        caller: principal.Principal | None,
        agent_id: str,
        sequence: int,
        status: AgentStatus | None,
        load: float,
        session: SessionTicket | None = None,
    ) -> Ack:
        """One script, at once: the caller's check (`session`, when the call's session
        token is checked in it), the beat and (for an unspecified status) the live status
        it keeps."""
        check = AdmitCheck.none()
        if session is not None:
            check = session.check
        else:
            principal.require_agent(caller, agent_id)
        _check_load(load)
        self._coalescer.discard(agent_id)  # a queued stream beat is older than this one
        now = time.time()
        admitted, written = await self._store.beat_now(
            check, agent_id, status, load, now, self.ttl_s
        )
        await _settle(session, admitted)
        assert written is not None
        return Ack(sequence, written, now, first=True)

    async def set_status(
        self, caller: principal.Principal | None, agent_id: str, status: AgentStatus | None
    ) -> Presence:
        principal.require_agent(caller, agent_id)
        if status is None:
            raise InvalidArgument.field("status", "is required")
        current = await self._store.read(agent_id)
        load = 0.0 if current is None else current.load
        now = time.time()
        await self._coalescer.submit(PresenceWrite(agent_id, status, load, now))
        if status is AgentStatus.OFFLINE:
            self.end_stream(agent_id, "*", EndKind.COMPLETED)
        return await self.get_presence(agent_id)

    async def get_presence(self, agent_id: str) -> Presence:
        async with self._uow() as uow:
            agent = await uow.agents.get(agent_id)
        if agent is None:
            raise failures.agent_not_found(agent_id)
        record = await self._store.read(agent_id)
        streaming = await self._store.has_stream(agent_id)
        if record is None:
            return Presence(agent_id, agent.status, agent.last_seen_at, 0.0, streaming)
        status = self.live_status(record, time.time())
        seen = datetime.fromtimestamp(record.last_seen, UTC)
        return Presence(agent_id, status, seen, record.load, streaming)

    # Reads elsewhere and deletes.

    def live_status(self, record: PresenceRecord, now: float) -> AgentStatus:
        """Past the TTL an agent is offline even before the sweep has run."""
        if record.status is not AgentStatus.OFFLINE and now - record.last_seen > self.ttl_s:
            return AgentStatus.OFFLINE
        return record.status

    async def live(self, agent_ids: list[str]) -> list[tuple[AgentStatus, datetime] | None]:
        """(status, last seen) from live presence for each agent; None where it has none.

        One HMGET per page. Reads keep working without Redis: they then show the last
        flushed status.
        """
        try:
            records = await self._store.read_many(agent_ids)
        except Unavailable:
            log.warning("presence unreachable; serving flushed status")
            return [None] * len(agent_ids)
        return self._timeline(records)

    @property
    def state_key(self) -> str:
        return self._store.state_key

    def live_from(self, raws: Sequence[bytes | None]) -> list[tuple[AgentStatus, datetime] | None]:
        """What live() answers, from state values a caller read itself (in a script)."""
        return self._timeline([decode(raw) for raw in raws])

    def _timeline(
        self, records: Sequence[PresenceRecord | None]
    ) -> list[tuple[AgentStatus, datetime] | None]:
        now = time.time()
        return [
            None
            if record is None
            else (self.live_status(record, now), datetime.fromtimestamp(record.last_seen, UTC))
            for record in records
        ]

    async def overlay(self, agents: list[Agent]) -> list[Agent]:
        """Agents with status and last-seen taken from live presence."""
        live = await self.live([a.agent_id for a in agents])
        return [
            agent if now is None else dataclasses.replace(agent, status=now[0], last_seen_at=now[1])
            for agent, now in zip(agents, live, strict=True)
        ]

    async def withdraw(self, agent_id: str, state: AgentState) -> None:
        """After a suspension or take-down commits: the agent's stream ends at once on
        every process, and it reads offline with no stream."""
        kind = _WITHDRAWN[state]
        self.end_stream(agent_id, "*", kind)
        await self._store.end_presence(agent_id, time.time())
        await self._store.publish_control(f"{agent_id} * {kind.value}")

    async def revoke(self, agent_id: str, credential: str) -> None:
        """After a credential is revoked (server/auth/store.py names it): the agent's stream
        opened with it ends at once, here and on every other process. Its presence stays:
        the agent signs in again and reopens."""
        self.end_stream(agent_id, credential, EndKind.REVOKED)
        # Published even when it ended here: a stream of the same credential may be opening
        # elsewhere as this one went (ending twice is harmless).
        await self._store.publish_control(f"{agent_id} {credential} {EndKind.REVOKED.value}")

    async def forget(self, agent_id: str) -> None:
        """After a delete commits: presence removed, the stream ended wherever it is open."""
        self._coalescer.discard(agent_id)
        await self._store.forget(agent_id)
        if not self.end_stream(agent_id, "*", EndKind.DELETED):
            await self._store.publish_control(f"{agent_id} * {EndKind.DELETED.value}")
