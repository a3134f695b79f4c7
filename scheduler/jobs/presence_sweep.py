"""Marks agents offline in Redis once their last beat is older than the TTL; the flush job
carries them to Postgres (see server.presence.sweep)."""

from __future__ import annotations

from typing import Any

from scheduler.context import JobContext
from server.observability.metrics import SWEEP_EXPIRED, SWEEP_HELD_BACK
from server.presence.store import PresenceStore
from server.presence.sweep import sweep


async def presence_sweep(context: JobContext) -> dict[str, Any]:
    settings = context.settings
    store = PresenceStore(context.redis, settings.presence_namespace)
    try:
        figures = await sweep(
            store,
            ttl_s=settings.presence_ttl_s,
            ratio=settings.presence_self_preservation_ratio,
            min_agents=settings.presence_self_preservation_min_agents,
            now=context.clock().timestamp(),
        )
    finally:
        store.close()  # its script channel (server/hot/channel.py)
    SWEEP_EXPIRED.inc(figures["expired"])
    SWEEP_HELD_BACK.inc(figures["held_back"])
    return figures
