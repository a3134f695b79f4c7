"""Cached reads of the registry: which key, which generation, how long.

TTLs: an agent profile 5 min, list pages 60 s, the capability catalog 1 h.
Every registry write bumps the generations it affects (see RegistryService).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from server.cache import codec
from server.cache.aside import CacheAside
from server.domain.agents import Agent, AgentType, Capability

PROFILE_TTL_S = 300
LIST_TTL_S = 60
CATALOG_TTL_S = 3600

AGENTS_GENERATION = "cache:gen:agents"
# Responses that also depend on stored status, by filtering or counting it: search and
# find with a status filter, registry statistics. Presence flushes that change a stored
# status bump only this one, so the many responses that merely show status (merged live
# on every serve) outlive them; every agent write bumps both (AGENTS_CHANGED).
STATUS_GENERATION = "cache:gen:agents:status"
AGENTS_CHANGED = (AGENTS_GENERATION, STATUS_GENERATION)
CATALOG_GENERATION = "cache:gen:capabilities"


def agent_generation(agent_id: str) -> str:
    return f"cache:gen:agent:{agent_id}"


class RegistryCache:
    def __init__(self, cache: CacheAside) -> None:
        self._cache = cache

    async def agent(
        self, agent_id: str, load: Callable[[], Awaitable[Agent | None]]
    ) -> Agent | None:
        async def encoded() -> bytes | None:
            agent = await load()
            return None if agent is None else codec.encode_agent(agent)

        raw = await self._cache.get_or_load(
            f"cache:agent:{agent_id}", agent_generation(agent_id), PROFILE_TTL_S, encoded
        )
        return None if raw is None else codec.decode_agent(raw)

    async def agent_page(
        self,
        agent_type: AgentType | None,
        limit: int,
        page_token: str,
        load: Callable[[], Awaitable[tuple[list[Agent], str]]],
    ) -> tuple[list[Agent], str]:
        async def encoded() -> bytes:
            return codec.encode_agent_page(*await load())

        key = f"cache:agents:{agent_type or 'all'}:{limit}:{page_token}"
        raw = await self._cache.get_or_load(key, AGENTS_GENERATION, LIST_TTL_S, encoded)
        assert raw is not None
        return codec.decode_agent_page(raw)

    async def capability_page(
        self,
        limit: int,
        page_token: str,
        load: Callable[[], Awaitable[tuple[list[Capability], str]]],
    ) -> tuple[list[Capability], str]:
        async def encoded() -> bytes:
            return codec.encode_capability_page(*await load())

        key = f"cache:capabilities:{limit}:{page_token}"
        raw = await self._cache.get_or_load(key, CATALOG_GENERATION, CATALOG_TTL_S, encoded)
        assert raw is not None
        return codec.decode_capability_page(raw)

    async def capability(
        self, capability_id: str, load: Callable[[], Awaitable[Capability | None]]
    ) -> Capability | None:
        async def encoded() -> bytes | None:
            capability = await load()
            return None if capability is None else codec.encode_capability(capability)

        raw = await self._cache.get_or_load(
            f"cache:capability:{capability_id}", CATALOG_GENERATION, CATALOG_TTL_S, encoded
        )
        return None if raw is None else codec.decode_capability(raw)

    async def agent_changed(self, agent_id: str, *, catalog: bool = False) -> None:
        generations = [agent_generation(agent_id), *AGENTS_CHANGED]
        if catalog:
            generations.append(CATALOG_GENERATION)
        await self._cache.bump(*generations)
