"""Carries live status and last-seen from Redis to Postgres in bulk, with status-change events."""

from __future__ import annotations

from typing import Any

from scheduler.context import JobContext
from server.presence.flushing import flush_dirty, retire_status_pages
from server.presence.store import PresenceStore


async def presence_flush(context: JobContext) -> dict[str, Any]:
    settings = context.settings
    store = PresenceStore(context.redis, settings.presence_namespace)
    try:
        # Postgres last_seen_at may trail by up to a TTL: reads take it from Redis.
        figures = await flush_dirty(
            context.uow, store, settings.presence_flush_batch, settings.presence_ttl_s
        )
    finally:
        store.close()  # its script channel (server/hot/channel.py)
    await retire_status_pages(context.redis, figures["events_written"])
    return dict(figures)
