"""Reputation reads: served from what the trust job stored, never from attestations."""

from __future__ import annotations

from db.uow import UnitOfWorkFactory
from server.domain.agents import Agent
from server.domain.attestations import Reputation
from server.domain.errors import NotFound
from server.domain.paging import decode_token, encode_token, page_limit


class ReputationService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, agent_id: str) -> Reputation:
        async with self._uow() as uow:
            reputation = await uow.reputation.get(agent_id)
        if reputation is None:
            raise NotFound(f"agent {agent_id} not found", reason="AGENT_NOT_FOUND")
        return reputation

    async def leaderboard(
        self, page_size: int, page_token: str, capability_id: str | None
    ) -> tuple[list[tuple[int, Agent]], str]:
        scope = f"leaderboard:{capability_id or ''}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)
        async with self._uow() as uow:
            if capability_id is not None and await uow.capabilities.get(capability_id) is None:
                raise NotFound(
                    f"capability {capability_id} not found", reason="CAPABILITY_NOT_FOUND"
                )
            page = await uow.reputation.leaderboard_page(limit, cursor, capability_id)
        return page.items, encode_token(page.next_cursor, scope)
