"""Domain claims and proofs on the agents table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentRow


class DomainRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(self, agent_id: str, domain: str) -> bool:
        """A new claim replaces the old one and its proof."""
        changed = await self._session.execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id)
            .values(
                domain=domain,
                domain_verified_at=None,
                domain_checked_at=None,
                updated_at=func.now(),
            )
            .returning(AgentRow.id)
        )
        return changed.scalar_one_or_none() is not None

    async def proven(self, agent_id: str, domain: str, at: datetime) -> bool:
        """Record a passed check, unless the claim changed meanwhile."""
        changed = await self._session.execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id, AgentRow.domain == domain)
            .values(domain_verified_at=at, domain_checked_at=at, updated_at=func.now())
            .returning(AgentRow.id)
        )
        return changed.scalar_one_or_none() is not None

    async def rechecked(self, agent_id: str, at: datetime) -> None:
        await self._session.execute(
            update(AgentRow).where(AgentRow.id == agent_id).values(domain_checked_at=at)
        )

    async def lost(self, agent_id: str, domain: str, at: datetime) -> bool:
        changed = await self._session.execute(
            update(AgentRow)
            .where(AgentRow.id == agent_id, AgentRow.domain == domain)
            .values(domain_verified_at=None, domain_checked_at=at, updated_at=func.now())
            .returning(AgentRow.id)
        )
        return changed.scalar_one_or_none() is not None

    async def due(self, checked_before: datetime, limit: int) -> list[tuple[str, str, bytes]]:
        """Proven domains not checked since `checked_before`, oldest first (partial index)."""
        rows = await self._session.execute(
            select(AgentRow.id, AgentRow.domain, AgentRow.public_key)
            .where(
                AgentRow.domain_verified_at.is_not(None),
                AgentRow.domain_checked_at < checked_before,
            )
            .order_by(AgentRow.domain_checked_at)
            .limit(limit)
        )
        return [(row.id, row.domain or "", bytes(row.public_key)) for row in rows]
