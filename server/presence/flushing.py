"""Carrying live presence from Redis to Postgres, shared by the flush and sweep jobs.

Redis is the source of truth for presence; Postgres gets status and last-seen
in batches (one statement each) so queries and the outbox see them. Agents
reach the flush through the dirty set, which every coalesced write adds to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from redis.asyncio import Redis

from db.repositories.presence import PresenceChange, PresenceRepository
from db.uow import UnitOfWorkFactory
from server.cache.aside import CacheAside
from server.cache.keys import STATUS_GENERATION
from server.presence.store import PresenceStore


async def apply_to_postgres(
    uow: UnitOfWorkFactory, store: PresenceStore, agent_ids: Sequence[str], stale_after_s: float
) -> tuple[int, int]:
    """Write the current Redis state of these agents to Postgres; (rows, events). Rows
    whose status is unchanged are left alone until last-seen trails by `stale_after_s`."""
    records = await store.read_many(agent_ids)
    changes = [
        PresenceChange(agent_id, record.status.value, datetime.fromtimestamp(record.last_seen, UTC))
        for agent_id, record in zip(agent_ids, records, strict=True)
        if record is not None
    ]
    if not changes:
        return 0, 0
    async with uow() as unit:
        applied = await PresenceRepository(unit.session).apply(changes, stale_after_s)
        await unit.commit()
    return applied.rows_updated, applied.events_written


async def flush_dirty(
    uow: UnitOfWorkFactory, store: PresenceStore, batch: int, stale_after_s: float
) -> dict[str, int]:
    """Everything dirty since the last flush, batch by batch; a failed run is retried whole."""
    rows = events = batches = 0
    if await store.take_dirty():
        for agent_ids in await store.scan_flushing(batch):
            updated, written = await apply_to_postgres(uow, store, agent_ids, stale_after_s)
            rows, events, batches = rows + updated, events + written, batches + 1
        await store.done_flushing()
    return {"rows_updated": rows, "events_written": events, "batches": batches}


async def retire_status_pages(redis: Redis, status_changes: int) -> None:
    """Cached responses that filter or count by stored status must not outlive a flush
    that changed some (server.cache.keys.STATUS_GENERATION)."""
    if status_changes:
        await CacheAside(redis).bump(STATUS_GENERATION)
