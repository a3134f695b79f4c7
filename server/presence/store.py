"""Live presence in Redis: the only place a heartbeat is written.

Layout under one namespace (default `presence`):
- `{ns}:seen`  sorted set, member = agent id, score = unix time of the last beat.
  Only agents currently present are in it, so the sweep's range query costs
  what expires, not the registry size.
- `{ns}:state` hash, field = agent id, value = `status|load|last_seen`; offline
  agents stay here (with their last beat) so reads know when they were seen.
- `{ns}:dirty` set of agent ids whose state changed since the last Postgres flush.
- `{ns}:stream:{agent_id}` the id of the one live stream of the agent.
- `{ns}:control` pub/sub channel telling every server process to end a stream
  (superseded by a newer one on another process, or its agent deleted, suspended
  or taken down).

Stream beats are multi-member commands in one pipeline per tick: redis-py spends
~25 µs of Python per command, so one command per beat would cap a process at a few
thousand beats/s. A unary beat and a stream opening are one script each, written at
once (their caller waits for them), with the caller's session check and budget count
in front (admit.lua, server/hot/lua/): one round trip per call.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, RedisError

from server.domain import refusals
from server.domain.agents import AgentStatus
from server.hot import scripts
from server.hot.channel import ScriptChannel
from server.hot.ticket import ADMIT_ARGS, AdmitCheck


@dataclass(frozen=True, slots=True)
class Admitted:
    """A script's answer to its admit.lua part (server/calls/auth.py settles it)."""

    verdict: str  # 'ok', 'unauthenticated', 'limited' or 'not_owner'
    agent_id: str  # the session's agent, '' when the caller was resolved before
    verified: bool
    count: int


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class PresenceRecord:
    status: AgentStatus
    load: float
    last_seen: float  # unix seconds


class PresenceWrite(NamedTuple):
    """One per beat: a named tuple, as a frozen dataclass costs a setattr per field."""

    agent_id: str
    status: AgentStatus
    load: float
    at: float  # unix seconds


def _encode(write: PresenceWrite) -> str:
    return f"{write.status.value}|{write.load:.3g}|{write.at:.3f}"


def _admitted(reply: list[bytes | int]) -> Admitted:
    verdict, agent_id, verified, count = reply[0], reply[1], reply[2], reply[3]
    assert isinstance(verdict, bytes) and isinstance(agent_id, bytes)
    assert isinstance(count, int)
    return Admitted(verdict.decode(), agent_id.decode(), verified == 1, count)


class Claimed(NamedTuple):
    """A stream opening's answer: the check's, the agent, the stream it replaced, and the
    seconds its session has left (None without a session, or one that never expires)."""

    admitted: Admitted
    agent_id: str
    replaced: str | None
    session_left_s: float | None


def _claimed(reply: list[Any], agent_id: str) -> Claimed:
    admitted = _admitted(reply)
    if admitted.verdict != "ok":
        return Claimed(admitted, agent_id, None, None)
    previous = _text(reply[5])
    left = reply[6] if len(reply) > 6 else -1
    left_s = left / 1000 if isinstance(left, int) and left >= 0 else None
    return Claimed(admitted, _text(reply[4]), previous or None, left_s)


def _hand_over(agent_id: str, abandoned: Callable[[Admitted, str], None], reply: Any) -> None:
    """The reply of a claim whose caller stopped waiting (an error reply claimed nothing)."""
    if isinstance(reply, list):
        claimed = _claimed(reply, agent_id)
        abandoned(claimed.admitted, claimed.agent_id)


def _hand_over_task(
    agent_id: str, abandoned: Callable[[Admitted, str], None], task: asyncio.Future[Any]
) -> None:
    if not task.cancelled() and task.exception() is None:
        _hand_over(agent_id, abandoned, task.result())


def decode(raw: bytes | str | None) -> PresenceRecord | None:
    """A `{ns}:state` value (as HMGET returns it, also from a script) as a record."""
    if raw is None:
        return None
    text = raw.decode() if isinstance(raw, bytes) else raw
    status, load, seen = text.split("|")
    return PresenceRecord(AgentStatus(status), float(load), float(seen))


class PresenceStore:
    def __init__(
        self, redis: Redis, namespace: str = "presence", channel: ScriptChannel | None = None
    ) -> None:
        """`channel` carries the scripts a call waits on (server/hot/channel.py); without
        one, a channel to `redis`'s server is opened."""
        self._redis = redis
        self._channel = channel if channel is not None else ScriptChannel.for_client(redis)
        self._seen = f"{namespace}:seen"
        self.state_key = f"{namespace}:state"  # also read by search's cached-page script
        self.dirty_key = f"{namespace}:dirty"
        self.flushing_key = f"{namespace}:dirty:flushing"
        self._stream = f"{namespace}:stream:{{}}"
        self.control_channel = f"{namespace}:control"
        self._stream_prefix = f"{namespace}:stream:"
        self._expire = redis.register_script(scripts.text("expire_presence"))
        self._beat_now = scripts.load("beat_now", ADMIT_ARGS=ADMIT_ARGS)
        self._claim = scripts.load("claim", ADMIT_ARGS=ADMIT_ARGS)
        self._release = scripts.text("release_stream")

    @property
    def redis(self) -> Redis:
        return self._redis

    async def write(
        self,
        writes: Sequence[PresenceWrite],
        claims: Sequence[tuple[str, str]] = (),
        releases: Sequence[tuple[str, str]] = (),
    ) -> list[str | None]:
        """One pipeline for a tick of a process: beats (at most four commands however many
        they are), stream claims (agent id, stream id) and releases. Answers, per claim, the
        stream it replaced, if any; releases come after claims, so a stream that ends in the
        tick it opened leaves no claim behind."""
        if not writes and not claims and not releases:
            return []
        # hiredis packs a tick's thousands of members in C
        results = await self._channel.many(self._tick_commands(writes, claims, releases))
        return [
            None if r is None else r.decode() if isinstance(r, bytes) else str(r)
            for r in results[: len(claims)]
        ]

    def _tick_commands(
        self,
        writes: Sequence[PresenceWrite],
        claims: Sequence[tuple[str, str]],
        releases: Sequence[tuple[str, str]],
    ) -> list[tuple[str | float, ...]]:
        commands: list[tuple[str | float, ...]] = [
            ("SET", self._stream.format(agent_id), stream_id, "GET")
            for agent_id, stream_id in claims
        ]
        commands += [  # EVAL: a registered script makes a pipeline ask SCRIPT EXISTS first
            ("EVAL", self._release, 1, self._stream.format(agent_id), stream_id)
            for agent_id, stream_id in releases
        ]
        if writes:
            present: list[str | float] = []
            gone: list[str] = []
            state: list[str] = []
            for write in writes:
                if write.status is AgentStatus.OFFLINE:
                    gone.append(write.agent_id)
                else:
                    present += (write.at, write.agent_id)
                state += (write.agent_id, _encode(write))
            if present:
                commands.append(("ZADD", self._seen, *present))
            if gone:
                commands.append(("ZREM", self._seen, *gone))
            commands.append(("HSET", self.state_key, *state))
            commands.append(("SADD", self.dirty_key, *(w.agent_id for w in writes)))
        return commands

    async def beat_now(
        self,
        check: AdmitCheck,
        agent_id: str,
        status: AgentStatus | None,
        load: float,
        at: float,
        ttl_s: float,
    ) -> tuple[Admitted, AgentStatus | None]:
        """A unary beat in one round trip, behind the caller's check; the status written
        (None when the check refused the call and nothing was written)."""
        keys = [check.session_key, self._seen, self.state_key, self.dirty_key]
        args = [
            *check.args,
            agent_id,
            "" if status is None else status.value,
            f"{load:.3g}",
            repr(at),
            repr(ttl_s),
            f"{at:.3f}",
        ]
        reply = await self._channel.run(self._beat_now, keys, args)
        admitted = _admitted(reply)
        written = AgentStatus(_text(reply[4])) if admitted.verdict == "ok" else None
        return admitted, written

    async def claim(
        self,
        check: AdmitCheck,
        agent_id: str,
        stream_id: str,
        abandoned: Callable[[Admitted, str], None],
    ) -> Claimed:
        """A stream opening in one round trip, behind the caller's check. `agent_id` ''
        is the session's agent.

        A caller that stops waiting (its call ended) still learns what the script did:
        `abandoned` gets its answer and agent once it has run, to give the stream up. Over
        the channel that costs nothing while the caller waits (no task, no shield): the
        reply is handed over only if the caller was cancelled."""
        keys = [check.session_key]
        args = [*check.args, agent_id, self._stream_prefix, stream_id]
        channel = self._channel
        pending = channel.submit(self._claim, keys, args)
        if pending is not None:
            try:
                reply = await pending
            except asyncio.CancelledError:
                channel.adopt(pending, functools.partial(_hand_over, agent_id, abandoned))
                raise
            try:
                return _claimed(ScriptChannel.answer(reply), agent_id)
            except NoScriptError:
                pass  # a restarted or flushed Redis: loaded and run again below
        # A channel still connecting: a task of its own, shielded.
        task = asyncio.ensure_future(channel.run(self._claim, keys, args))
        try:
            reply = await asyncio.shield(task)
        except BaseException:
            task.add_done_callback(functools.partial(_hand_over_task, agent_id, abandoned))
            raise
        return _claimed(reply, agent_id)

    def close(self) -> None:
        self._channel.close()

    async def read_many(self, agent_ids: Sequence[str]) -> list[PresenceRecord | None]:
        """One HMGET for a whole page."""
        if not agent_ids:
            return []
        try:
            raws = await self._channel.call("HMGET", self.state_key, *agent_ids)
        except RedisError as error:
            raise refusals.presence_unavailable() from error
        return [decode(raw) for raw in raws]

    async def read(self, agent_id: str) -> PresenceRecord | None:
        return (await self.read_many([agent_id]))[0]

    async def present_count(self) -> int:
        return int(await self._redis.zcard(self._seen))

    async def count_older_than(self, cutoff: float) -> int:
        return int(await self._redis.zcount(self._seen, "-inf", cutoff))

    async def expire(self, cutoff: float, limit: int) -> int:
        """Mark up to `limit` agents (oldest first) with last beat <= cutoff offline, atomically."""
        if limit <= 0:
            return 0
        keys = [self._seen, self.state_key, self.dirty_key]
        return int(await self._expire(keys=keys, args=[cutoff, limit]))

    async def forget(self, agent_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._seen, agent_id)
            pipe.hdel(self.state_key, agent_id)
            pipe.srem(self.dirty_key, agent_id)
            pipe.delete(self._stream.format(agent_id))
            await pipe.execute()

    async def end_presence(self, agent_id: str, at: float) -> None:
        """The agent offline as of `at`, with no live stream, in one transaction."""
        write = PresenceWrite(agent_id, AgentStatus.OFFLINE, 0.0, at)
        async with self._redis.pipeline(transaction=True) as pipe:
            for command in self._tick_commands([write], (), ()):
                pipe.execute_command(*command)
            pipe.delete(self._stream.format(agent_id))
            await pipe.execute()

    async def has_stream(self, agent_id: str) -> bool:
        return bool(await self._redis.exists(self._stream.format(agent_id)))

    async def publish_control(self, message: str) -> None:
        await self._redis.publish(self.control_channel, message)

    async def take_dirty(self) -> bool:
        """Move the dirty set aside for a flush; a leftover from a failed flush is kept."""
        if await self._redis.exists(self.flushing_key):
            return True
        try:
            return bool(await self._redis.renamenx(self.dirty_key, self.flushing_key))
        except Exception as error:  # redis answers "no such key" when nothing is dirty
            if "no such key" in str(error).lower():
                return False
            raise

    async def scan_flushing(self, batch: int) -> Iterable[list[str]]:
        """The set being flushed, in batches (SSCAN: never one huge reply)."""
        batches: list[list[str]] = []
        current: list[str] = []
        async for member in self._redis.sscan_iter(self.flushing_key, count=batch):
            current.append(member.decode())
            if len(current) >= batch:
                batches.append(current)
                current = []
        if current:
            batches.append(current)
        return batches

    async def done_flushing(self) -> None:
        await self._redis.delete(self.flushing_key)
