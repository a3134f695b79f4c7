"""Reads of the capability catalog; counters are written by AgentRepository."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CapabilityRow
from db.repositories.keyset import after, build_page, check_limit
from db.repositories.rows import CAPABILITY_COLUMNS, to_capability
from server.domain.agents import Capability, Page


class CapabilityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, capability_id: str) -> Capability | None:
        result = await self._session.execute(
            select(*CAPABILITY_COLUMNS).where(CapabilityRow.id == capability_id)
        )
        row = result.one_or_none()
        return None if row is None else to_capability(row)

    async def list_page(self, limit: int, cursor: tuple[str, ...] | None) -> Page[Capability]:
        """Ordered by id; the cursor is (id,) of the last capability returned."""
        check_limit(limit)
        query = select(*CAPABILITY_COLUMNS)
        if cursor is not None:
            query = query.where(after([CapabilityRow.id], [cursor[-1]], descending=False))
        query = query.order_by(CapabilityRow.id).limit(limit + 1)
        rows = (await self._session.execute(query)).all()
        return build_page(rows, limit, to_capability, lambda row: (row.id,))

    async def missing(self, ids: Iterable[str]) -> set[str]:
        """The ids that are not in the catalog."""
        wanted = set(ids)
        if not wanted:
            return set()
        result = await self._session.execute(
            select(CapabilityRow.id).where(CapabilityRow.id.in_(wanted))
        )
        return wanted - set(result.scalars())
