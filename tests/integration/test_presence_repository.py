"""PresenceRepository.apply: which rows a flush rewrites and which events it writes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.models import AgentRow
from db.repositories.presence import PresenceChange, PresenceRepository
from db.uow import UnitOfWorkFactory
from tests.integration.builders import register


async def _apply(uow: UnitOfWorkFactory, change: PresenceChange, stale_after_s: float) -> int:
    async with uow() as work:
        applied = await PresenceRepository(work.session).apply([change], stale_after_s)
        await work.commit()
    return applied.rows_updated


async def _last_seen(uow: UnitOfWorkFactory, agent_id: str) -> datetime | None:
    async with uow() as work:
        return await work.session.scalar(
            select(AgentRow.last_seen_at).where(AgentRow.id == agent_id)
        )


async def test_unchanged_status_is_rewritten_only_once_last_seen_is_stale(
    uow: UnitOfWorkFactory,
) -> None:
    agent = await register(uow)
    seen = datetime(2026, 1, 1, tzinfo=UTC)
    assert await _apply(uow, PresenceChange(agent.agent_id, "online", seen), 90) == 1
    # Same status, a beat 30 s later: Postgres keeps the older last-seen.
    later = seen + timedelta(seconds=30)
    assert await _apply(uow, PresenceChange(agent.agent_id, "online", later), 90) == 0
    assert await _last_seen(uow, agent.agent_id) == seen
    # A status change is written at once, whatever the age.
    assert await _apply(uow, PresenceChange(agent.agent_id, "busy", later), 90) == 1
    # Same status again, but last-seen now trails by more than the limit.
    much_later = later + timedelta(seconds=120)
    assert await _apply(uow, PresenceChange(agent.agent_id, "busy", much_later), 90) == 1
    assert await _last_seen(uow, agent.agent_id) == much_later
