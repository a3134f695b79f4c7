"""Cached reads of the registry: which key (server/cache/keys.py), which generation, how
long (each read's RPC declares its TTL: protos/agentregistry/v1/policy.proto).
Every registry write bumps the generations it affects (see RegistryService).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from server import method_policy
from server.cache import codec, keys
from server.cache.aside import CacheAside
from server.cache.keys import AGENTS_CHANGED, CATALOG_GENERATION, agent_generation
from server.domain.agents import Agent, AgentType, Capability

_REGISTRY = "/agentregistry.v1.RegistryService/"
PROFILE_TTL_S = method_policy.of(_REGISTRY + "GetAgent").cache_ttl_s
LIST_TTL_S = method_policy.of(_REGISTRY + "ListAgents").cache_ttl_s
CATALOG_TTL_S = method_policy.of(_REGISTRY + "ListCapabilities").cache_ttl_s


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
            keys.agent(agent_id), agent_generation(agent_id), PROFILE_TTL_S, encoded
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

        key = keys.agent_page(agent_type or "all", limit, page_token)
        raw = await self._cache.get_or_load(key, keys.AGENTS_GENERATION, LIST_TTL_S, encoded)
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

        key = keys.capability_page(limit, page_token)
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
            keys.capability(capability_id), CATALOG_GENERATION, CATALOG_TTL_S, encoded
        )
        return None if raw is None else codec.decode_capability(raw)

    async def agent_changed(self, agent_id: str, *, catalog: bool = False) -> None:
        generations = [agent_generation(agent_id), *AGENTS_CHANGED]
        if catalog:
            generations.append(CATALOG_GENERATION)
        await self._cache.bump(*generations)
