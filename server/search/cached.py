"""Cached result pages of search, find and agents-by-capability.

A page is cached like a ListAgents page (60 s, under the registry-wide agents
generation): every registry write, trust recomputation and stored status
change bumps that generation, so a page is never older than the last write
that could change it. Popular queries, and every later reader of a page,
then cost one Redis call instead of ranking thousands of matches again.
Pages hold stored values only; live presence is merged after the cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable

from server.cache import codec
from server.cache.aside import CacheAside
from server.domain.agents import Agent
from server.domain.search import FindResult, SearchPage
from server.registry.cached import AGENTS_GENERATION, LIST_TTL_S


def _key(kind: str, *parts: object) -> str:
    """Fixed-length keys whatever the query: a hash of everything the page depends on."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()
    return f"cache:{kind}:{digest}"


class SearchCache:
    def __init__(self, cache: CacheAside) -> None:
        self._cache = cache

    async def search_page(
        self, parts: tuple[object, ...], load: Callable[[], Awaitable[SearchPage]]
    ) -> SearchPage:
        async def encoded() -> bytes:
            return codec.encode_search_page(await load())

        raw = await self._get(_key("search", *parts), encoded)
        return codec.decode_search_page(raw)

    async def find_result(
        self, parts: tuple[object, ...], load: Callable[[], Awaitable[FindResult]]
    ) -> FindResult:
        async def encoded() -> bytes:
            return codec.encode_find_result(await load())

        raw = await self._get(_key("find", *parts), encoded)
        return codec.decode_find_result(raw)

    async def capability_page(
        self, parts: tuple[object, ...], load: Callable[[], Awaitable[tuple[list[Agent], str]]]
    ) -> tuple[list[Agent], str]:
        async def encoded() -> bytes:
            return codec.encode_agent_page(*await load())

        raw = await self._get(_key("capability-agents", *parts), encoded)
        return codec.decode_agent_page(raw)

    async def _get(self, key: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        raw = await self._cache.get_or_load(key, AGENTS_GENERATION, LIST_TTL_S, load)
        assert raw is not None  # the loaders always return bytes
        return raw
