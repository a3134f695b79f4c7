"""Drops what has outlived its retention: old outbox events and delivery logs.

Sessions and login challenges live in Redis with TTLs (server/auth/store.py), so
Redis expires them itself; there is nothing to sweep for them here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from db.repositories.webhook_delivery import WebhookDeliveryRepository
from scheduler.context import JobContext


async def cleanup(context: JobContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    cutoff = now - timedelta(days=context.settings.event_retention_days)
    delivery_cutoff = now - timedelta(days=context.settings.delivery_retention_days)
    async with context.uow() as uow:
        deliveries = await WebhookDeliveryRepository(uow.session).delete_finished_before(
            delivery_cutoff
        )
        removed = await uow.events.delete_before(cutoff)
        await uow.commit()
    return {"events_removed": removed, "deliveries_removed": deliveries}
