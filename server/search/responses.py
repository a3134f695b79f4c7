"""Cached responses of the public search reads and registry statistics, with live
presence merged into the agents they carry on every serve.

Ranking a broad query scores every match (a common word hits 3,000 of 100,000
agents: ~6 ms of Postgres), and turning a page of agents into protos costs
more Python than the rest of a request. So the serialized response is cached,
keyed by method and request bytes, for 60 s like a ListAgents page, under the
registry-wide agents generation: every registry write, the trust job, and any
flush or sweep that changes a stored status bump it, so no response outlives
a write that could change it. A hit is one Redis call, one parse in C, and the
live status and last-seen of the page's agents (one HMGET), merged into the
parsed messages as GetAgent merges them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from agentregistry.v1 import resources_pb2
from google.protobuf.message import Message

from server.cache.aside import CacheAside
from server.registry.cached import AGENTS_GENERATION, LIST_TTL_S
from server.registry.convert import status_to_proto, timestamp
from server.registry.service import LivePresence

Response = TypeVar("Response", bound=Message)
Agents = Callable[[Response], Iterable[resources_pb2.Agent]]


def _key(method: str, request: Message) -> str:
    digest = hashlib.blake2b(request.SerializeToString(deterministic=True), digest_size=16)
    return f"cache:response:{method}:{digest.hexdigest()}"


class SearchResponses:
    def __init__(self, cache: CacheAside, presence: LivePresence | None) -> None:
        self._cache = cache
        self._presence = presence

    async def serve(
        self,
        method: str,
        request: Message,
        response_type: type[Response],
        build: Callable[[], Awaitable[Response]],
        agents: Agents[Response] | None = None,
    ) -> Response:
        """`build()`'s response, or its cached bytes; `agents` picks the agents in it."""
        built: list[Response] = []

        async def load() -> bytes:
            built.append(await build())
            return built[0].SerializeToString()

        raw = await self._cache.get_or_load(
            _key(method, request), AGENTS_GENERATION, LIST_TTL_S, load
        )
        assert raw is not None  # load always returns bytes
        response = built[0] if built else response_type.FromString(raw)
        if agents is not None:
            await self._merge_live(list(agents(response)))
        return response

    async def _merge_live(self, agents: list[resources_pb2.Agent]) -> None:
        if self._presence is None or not agents:
            return
        # Names this server wrote (server.domain.names.agent_name), so no validation.
        ids = [agent.name.removeprefix("agents/") for agent in agents]
        for agent, live in zip(agents, await self._presence.live(ids), strict=True):
            if live is not None:
                agent.status = status_to_proto(live[0])
                agent.last_seen_time.CopyFrom(timestamp(live[1]))
