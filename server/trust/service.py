"""Reputation reads: served from what the trust job stored, never from attestations."""

from __future__ import annotations

from db.point_reads import PointReads
from db.ports import UnitsOfWork
from server.domain import failures
from server.domain.agents import Agent
from server.domain.attestations import Reputation
from server.domain.paging import decode_token, encode_token, page_limit


class ReputationService:
    def __init__(self, uow: UnitsOfWork, reads: PointReads) -> None:
        self._reads = reads
        self._uow = uow

    async def get(self, agent_id: str) -> Reputation:
        reputation = await self._reads.reputation(agent_id)
        if reputation is None:
            raise failures.agent_not_found(agent_id)
        return reputation

    async def leaderboard(
        self, page_size: int, page_token: str, capability_id: str | None
    ) -> tuple[list[tuple[int, Agent]], str]:
        """A page as stored: ListLeaderboard caches the response it builds."""
        scope = f"leaderboard:{capability_id or ''}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)
        async with self._uow() as uow:
            if capability_id is not None and await uow.capabilities.get(capability_id) is None:
                raise failures.capability_not_found(capability_id)
            page = await uow.reputation.leaderboard_page(limit, cursor, capability_id)
        return page.items, encode_token(page.next_cursor, scope)
