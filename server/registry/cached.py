"""The capability catalog's cache, and the generations a registry write bumps.

Agents are cached once, as the responses that show them (GetAgent, ListAgents, search:
server/cache/responses.py), never as domain objects; the catalog holds no live state, so
its records are cached as they are. Keys: server/cache/keys.py; TTL: the catalog reads'
declared policy (protos/agentregistry/v1/policy.proto).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from server import method_policy
from server.cache import codec, keys
from server.cache.aside import CacheAside
from server.cache.keys import AGENTS_CHANGED, CATALOG_GENERATION, agent_generation
from server.domain.agents import Capability

_REGISTRY = "/agentregistry.v1.RegistryService/"
CATALOG_TTL_S = method_policy.of(_REGISTRY + "ListCapabilities").cache_ttl_s


class RegistryCache:
    def __init__(self, cache: CacheAside) -> None:
        self._cache = cache

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
