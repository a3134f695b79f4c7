"""Reputation reads: served from what the trust job stored, never from attestations."""

from __future__ import annotations

from db.point_reads import PointReads
from db.uow import UnitOfWorkFactory
from server import method_policy
from server.cache import codec, keys
from server.cache.aside import CacheAside
from server.domain import failures
from server.domain.agents import Agent
from server.domain.attestations import Reputation
from server.domain.paging import decode_token, encode_token, page_limit

LEADERBOARD = method_policy.of("/agentregistry.v1.ReputationService/ListLeaderboard")


class ReputationService:
    def __init__(
        self, uow: UnitOfWorkFactory, reads: PointReads, cache: CacheAside | None = None
    ) -> None:
        self._reads = reads
        self._uow = uow
        self._cache = cache

    async def get(self, agent_id: str) -> Reputation:
        reputation = await self._reads.reputation(agent_id)
        if reputation is None:
            raise failures.agent_not_found(agent_id)
        return reputation

    async def leaderboard(
        self, page_size: int, page_token: str, capability_id: str | None
    ) -> tuple[list[tuple[int, Agent]], str]:
        scope = f"leaderboard:{capability_id or ''}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)

        async def load() -> bytes:
            async with self._uow() as uow:
                if capability_id is not None and await uow.capabilities.get(capability_id) is None:
                    raise failures.capability_not_found(capability_id)
                page = await uow.reputation.leaderboard_page(limit, cursor, capability_id)
            return codec.encode_ranked_page(page.items, encode_token(page.next_cursor, scope))

        if self._cache is None:
            return codec.decode_ranked_page(await load())
        # Scores change only when the trust job writes them; it bumps the generation then.
        key = keys.leaderboard_page(capability_id or "", limit, page_token)
        (generation,) = keys.generations(LEADERBOARD)
        raw = await self._cache.get_or_load(key, generation, LEADERBOARD.cache_ttl_s, load)
        assert raw is not None
        return codec.decode_ranked_page(raw)
