"""The events outbox: written in the same transaction as the change it records."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EventRow
from db.outbox_signal import notify_column
from db.repositories.keyset import check_limit
from server.domain.changes import ChangeEvent
from server.domain.events import DomainEvent


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        # What this unit of work recorded, for the effects that follow its commit
        # (server/events/dispatch.py).
        self.recorded: list[DomainEvent] = []

    async def add(self, event: DomainEvent) -> int:
        """Record a change; it becomes visible to the feed and webhooks only if the UoW commits."""
        result = await self._session.execute(
            insert(EventRow)
            .values(event_type=str(event.event_type), agent_id=event.agent_id, data=event.data())
            # Wakes the outbox's followers at commit (db/outbox_signal.py).
            .returning(EventRow.id, notify_column)
        )
        self.recorded.append(event)
        return int(result.one()[0])

    async def list_after(
        self,
        after_id: int,
        limit: int,
        *,
        agent_id: str | None = None,
        up_to: int | None = None,
        types: frozenset[str] = frozenset(),
    ) -> list[ChangeEvent]:
        """Events with after_id < id <= up_to, oldest first (pk index, or
        ix_events_agent_id_id), of the given types when any are given.

        Ids are handed out before commit, so a reader may briefly see id N+1
        before a slower transaction commits N; feeds that must not skip read only
        up to a settled `up_to` (db/repositories/outbox_reader.py).
        """
        check_limit(limit)
        query = select(EventRow).where(EventRow.id > after_id)
        if up_to is not None:
            query = query.where(EventRow.id <= up_to)
        if types:
            query = query.where(EventRow.event_type.in_(sorted(types)))
        if agent_id is not None:
            query = query.where(EventRow.agent_id == agent_id)
        rows = (await self._session.scalars(query.order_by(EventRow.id).limit(limit))).all()
        return [
            ChangeEvent(
                event_id=row.id,
                event_type=row.event_type,
                agent_id=row.agent_id,
                created_at=row.created_at,
                data=dict(row.data),
            )
            for row in rows
        ]

    async def delete_before(self, cutoff: datetime) -> int:
        """Drop events past retention (their deliveries go with them)."""
        result = await self._session.execute(delete(EventRow).where(EventRow.created_at < cutoff))
        return int(result.rowcount)  # type: ignore[attr-defined]
