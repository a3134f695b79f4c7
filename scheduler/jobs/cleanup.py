"""Drops what has outlived its retention: old outbox events and delivery logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scheduler.context import JobContext


async def cleanup(context: JobContext) -> dict[str, Any]:
    cutoff = datetime.now(UTC) - timedelta(days=context.settings.event_retention_days)
    async with context.uow() as uow:
        removed = await uow.events.delete_before(cutoff)
        await uow.commit()
    return {"events_removed": removed}
