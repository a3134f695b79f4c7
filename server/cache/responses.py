"""Cached responses of the hot public reads (GetAgent, GetReputation, search, find,
statistics), stored as serialized protos, with live presence merged into the agents they
carry on every serve.

Why responses and not domain objects: turning an agent into a proto costs more Python
than the rest of a request, and ranking a broad query scores every match (a common word
hits 3,000 of 100,000 agents: 3-6 ms of Postgres). A hit parses the stored bytes and
changes two fields.

A response sits under the generations of what it shows: one agent's (GetAgent), the
agent's and the trust job's (GetReputation), or registry-wide ones (search: every write
and the trust job bump AGENTS_GENERATION). Stored status changes all the time at 100,000
agents (presence flushes carry it every 15 s), and retiring every response on each flush
would make every hot query miss at once, four times a minute. Only responses that filter
or count by status (a status filter, the statistics) sit under STATUS_GENERATION, which
flushes bump. The others keep the online bonus they were ranked with for up to their
TTL; the status they show is always live (merged on every serve).

A cached value is the ids of the agents in the response, then the response:
`id,id,…\\n<bytes>`. A hit is one Redis call: a script counts the call against the
caller's budget (the call layer leaves the count to it), reads the generations, the
value, and the live state of those agents (one HMGET inside Redis), so the live status
and last-seen are merged into the parsed message without another round trip. On a miss the
same call takes CacheAside's load lock, and the miss goes on as CacheAside's
(single-flight load, then store), then reads the built response's presence: three round
trips, or two when the caller names the response's agents beforehand (GetAgent), whose
state the lookup then reads too. With the cache off, the count and (for such a caller)
the presence are one round trip before the build; otherwise presence is one more after.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from agentregistry.v1 import resources_pb2
from google.protobuf.message import Message
from redis.exceptions import RedisError

from server.cache.aside import LOCK_MS, CacheAside
from server.domain.agents import AgentStatus
from server.domain.wire import status_to_proto, timestamp
from server.hot import scripts
from server.hot.channel import Arg, ScriptChannel
from server.hot.ticket import CountTicket

Response = TypeVar("Response", bound=Message)
Agents = Callable[[Response], Iterable[resources_pb2.Agent]]
Live = tuple[AgentStatus, datetime] | None


class PresenceState(Protocol):
    """Live presence (server.presence.service.PresenceService) as responses merge it."""

    @property
    def state_key(self) -> str: ...

    async def live(self, agent_ids: list[str]) -> list[Live]: ...

    def live_from(self, raws: Sequence[bytes | None]) -> list[Live]: ...


def _ids(agents: Iterable[resources_pb2.Agent]) -> list[str]:
    # Names this server wrote (server.domain.names.agent_name), so no validation.
    return [agent.name.removeprefix("agents/") for agent in agents]


def _merge(agents: list[resources_pb2.Agent], live: list[Live]) -> None:
    for agent, now in zip(agents, live, strict=True):
        if now is not None:
            agent.status = status_to_proto(now[0])
            agent.last_seen_time.CopyFrom(timestamp(now[1]))


class CachedResponses:
    def __init__(
        self,
        cache: CacheAside,
        presence: PresenceState | None,
        channel: ScriptChannel | None = None,
    ) -> None:
        """`channel` carries the lookups (server/hot/channel.py); without one, a channel to
        the cache's Redis is opened."""
        self._cache = cache
        self._presence = presence
        self._channel = channel if channel is not None else ScriptChannel.for_client(cache.redis)
        self._script = scripts.load("cache_lookup", LOCK_MS=LOCK_MS)
        self._count_and_live = scripts.load("count_and_live")

    async def serve(
        self,
        key: str,
        generations: Sequence[str],
        ttl_s: int,
        response_type: type[Response],
        build: Callable[[], Awaitable[Response]],
        agents: Agents[Response] | None = None,
        known: Sequence[str] = (),
        ticket: CountTicket | None = None,
    ) -> Response:
        """`build()`'s response, or its cached bytes (under `generations`); `agents` picks
        the agents in it, whose status and last-seen are live; `known`, their ids when
        the caller knows them before the build, so a miss reads their state in the same
        call as the lookup; `ticket`, the call's budget count when it is left to this
        lookup (taken from the call), counted before anything is read."""
        if not self._cache.enabled:
            live = await self._count_and_read(ticket, known)
            response = await build()
            await self._merge_live(response, agents, known, live)
            return response
        found = await self._lookup(key, generations, ticket, known)
        if ticket is not None:
            if found is None:  # the script did not run: counted on its own
                await ticket.resolve()
            else:
                ticket.settle(int(found[3]))  # over budget: refused here
        if found is not None and found[1]:
            self._cache.count_hit()
            response = response_type.FromString(bytes(found[1]).partition(b"\n")[2])
            if agents is not None and self._presence is not None:
                _merge(list(agents(response)), self._presence.live_from(found[2]))
            return response
        built: list[Response] = []

        async def load() -> bytes:
            built.append(await build())
            listed = _ids(agents(built[0])) if agents is not None else []
            return ",".join(listed).encode() + b"\n" + built[0].SerializeToString()

        live = None
        if found is not None:  # missed, and maybe locked, by the lookup above
            number, _, locked, _, live = found
            raw = await self._cache.load_missed(key, number, bool(locked), ttl_s, load)
        else:
            raw = await self._cache.get_or_load(key, generations, ttl_s, load)
        assert raw is not None  # load always returns bytes
        response = built[0] if built else response_type.FromString(raw.partition(b"\n")[2])
        await self._merge_live(response, agents, known, live)
        return response

    async def _merge_live(
        self,
        response: Response,
        agents: Agents[Response] | None,
        known: Sequence[str] = (),
        read: Sequence[bytes | None] | None = None,
    ) -> None:
        """Live state into the response's agents: `read` (the state of `known`, read
        with the lookup) when those are its agents, else read now."""
        if agents is None or self._presence is None:
            return
        listed = list(agents(response))
        if not listed:
            return
        ids = _ids(listed)
        if read is not None and ids == list(known):
            _merge(listed, self._presence.live_from(read))
        else:
            _merge(listed, await self._presence.live(ids))

    async def _count_and_read(
        self, ticket: CountTicket | None, known: Sequence[str]
    ) -> Sequence[bytes | None] | None:
        """With the cache off: the count and the state of `known` in one call; None when
        it cannot run (the count then runs on its own)."""
        if self._presence is None or (ticket is None and not known):
            if ticket is not None:
                await ticket.resolve()
            return None
        keys: list[Arg] = [self._presence.state_key]
        args: list[Arg] = ["", ""]
        if ticket is not None:
            key, window_s, budget = ticket.counter
            keys.append(key)
            args = [window_s, budget]
        try:
            count, live = await self._channel.run(self._count_and_live, keys, [*args, *known])
        except RedisError:
            if ticket is not None:
                await ticket.resolve()
            return None
        if ticket is not None:
            ticket.settle(int(count))  # over budget: refused before the build
        return list(live)

    async def _lookup(
        self,
        key: str,
        generations: Sequence[str],
        ticket: CountTicket | None,
        known: Sequence[str],
    ) -> list[Any] | None:
        """_LOOKUP's answer; None when it cannot run (no presence, Redis down), and
        CacheAside then reads through (and logs why)."""
        if self._presence is None:
            return None
        keys: list[Arg] = [*generations, self._presence.state_key]
        args: list[Arg] = [key, len(generations), "", ""]
        if ticket is not None:
            key, window_s, budget = ticket.counter
            keys.append(key)
            args[2:] = [window_s, budget]
        args += known
        try:
            found: list[Any] = await self._channel.run(self._script, keys, args)
        except RedisError:
            return None
        return found
