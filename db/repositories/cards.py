"""Agent cards as received: one per agent, replaced by each import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentCardRow


class CardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def put(self, agent_id: str, card: dict[str, Any]) -> None:
        statement = insert(AgentCardRow).values(agent_id=agent_id, card=card)
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[AgentCardRow.agent_id],
                set_={"card": statement.excluded.card, "updated_at": func.now()},
            )
        )

    async def get(self, agent_id: str) -> dict[str, Any] | None:
        card = await self._session.scalar(
            select(AgentCardRow.card).where(AgentCardRow.agent_id == agent_id)
        )
        return card

    async def forget(self, agent_id: str) -> None:
        await self._session.execute(delete(AgentCardRow).where(AgentCardRow.agent_id == agent_id))
