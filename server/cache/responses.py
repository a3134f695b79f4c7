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

from server.cache.aside import LOOKUP_OR_LOCK, CacheAside
from server.domain.agents import AgentStatus
from server.hot.ticket import CountTicket
from server.registry.convert import status_to_proto, timestamp
from server.script_channel import Arg, Script, ScriptChannel, run_script

Response = TypeVar("Response", bound=Message)
Agents = Callable[[Response], Iterable[resources_pb2.Agent]]
Live = tuple[AgentStatus, datetime] | None

# Lua: the call's budget count, as limits' own increment does it; true when over budget.
_COUNT = """
local function count_call(counter, window, budget)
  local count = redis.call('INCRBY', counter, 1)
  if count == 1 then redis.call('EXPIRE', counter, window) end
  return count, count > tonumber(budget)
end
"""
# First, when the call's budget is counted here (ARGV[3] its window, '' when not;
# ARGV[4] its budget; the last key its counter; the call's CountTicket), the count:
# over budget, {false, false, 0, count} and nothing is read.
# Then a miss as CacheAside's (the load lock taken in the same call) → {generation,
# false, locked, count, {state of each agent in ARGV[5..]}}: the agents the response
# will show when the caller knows them beforehand (GetAgent's own). A hit →
# {generation, value, {state of each listed agent, false where none}, count}. The
# presence state hash is the key after the generations.
_LOOKUP = (
    LOOKUP_OR_LOCK
    + _COUNT
    + """
local count, over = 0, false
if ARGV[3] ~= '' then
  count, over = count_call(KEYS[#KEYS], ARGV[3], ARGV[4])
  if over then return {false, false, 0, count} end
end
local generation, value, locked = lookup_or_lock()
if not value then
  local known = {}
  if #ARGV > 4 then known = redis.call('HMGET', KEYS[generations + 1], unpack(ARGV, 5)) end
  return {generation, false, locked, count, known}
end
local ids = {}
local head = string.sub(value, 1, string.find(value, '\\n', 1, true) - 1)
for id in string.gmatch(head, '[^,]+') do ids[#ids + 1] = id end
if #ids == 0 then return {generation, value, {}, count} end
local live = redis.call('HMGET', KEYS[generations + 1], unpack(ids))
return {generation, value, live, count}
"""
)
# With the cache off: the count as above (KEYS[2] the counter, ARGV[1] its window or '',
# ARGV[2] its budget), then the state of each agent in ARGV[3..] (KEYS[1] the presence
# hash) → {count, {state…}}; over budget, nothing is read.
_COUNT_AND_LIVE = (
    _COUNT
    + """
local count, over = 0, false
if ARGV[1] ~= '' then
  count, over = count_call(KEYS[2], ARGV[1], ARGV[2])
  if over then return {count, {}} end
end
if #ARGV < 3 then return {count, {}} end
return {count, redis.call('HMGET', KEYS[1], unpack(ARGV, 3))}
"""
)


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
        self._cache = cache
        self._presence = presence
        self._channel = channel
        self._script = Script(_LOOKUP)
        self._count_and_live = Script(_COUNT_AND_LIVE)

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
            count, live = await run_script(
                self._channel, self._cache.redis, self._count_and_live, keys, [*args, *known]
            )
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
            found: list[Any] = await run_script(
                self._channel, self._cache.redis, self._script, keys, args
            )
        except RedisError:
            return None
        return found
