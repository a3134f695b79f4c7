"""Bulk presence writes to Postgres: one statement per batch, never one per beat.

The statement updates status and last_seen_at of the agents in the batch and,
in the same statement (so the same transaction), writes an
AGENT_STATUS_CHANGED outbox event for each agent whose status actually
changed. Re-applying a batch is harmless: unchanged rows write no events.

A row whose status is unchanged is only rewritten once its last_seen_at trails
the beat by more than `stale_after_s`: reads take last-seen from Redis, and
rewriting every beating agent's row (each index of `agents`) at every flush was
most of what Postgres did under a hundred thousand streams.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db.outbox_signal import NOTIFY
from server.domain.events import EventType

# Rows are locked in id order so two overlapping batches (flush and sweep) never deadlock;
# `previous` reads the status before this statement's own update (one snapshot for all CTEs).
_APPLY = text(
    """
    WITH incoming AS (
        SELECT * FROM unnest(
            CAST(:ids AS text[]), CAST(:statuses AS text[]), CAST(:seen AS timestamptz[])
        ) AS t(id, status, seen)
    ),
    previous AS (
        SELECT a.id, a.status FROM agents a JOIN incoming i ON i.id = a.id
        WHERE a.status <> i.status OR a.last_seen_at IS NULL
            OR a.last_seen_at < i.seen - make_interval(secs => :stale_after_s)
        ORDER BY a.id FOR NO KEY UPDATE OF a
    ),
    updated AS (
        UPDATE agents a
        SET status = i.status, last_seen_at = GREATEST(a.last_seen_at, i.seen)
        FROM incoming i
        WHERE a.id = i.id AND a.id IN (SELECT id FROM previous)
        RETURNING a.id
    ),
    changed AS (
        INSERT INTO events (event_type, agent_id, data)
        SELECT :event_type, i.id, jsonb_build_object(
            'status', i.status, 'previous_status', p.status, 'last_seen_time', i.seen
        )
        FROM incoming i JOIN previous p ON p.id = i.id
        WHERE p.status <> i.status
        ORDER BY i.id
        RETURNING agent_id
    )
    SELECT (SELECT count(*) FROM updated), (SELECT count(*) FROM changed)
    """
)


@dataclass(frozen=True, slots=True)
class PresenceChange:
    agent_id: str
    status: str
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class AppliedBatch:
    rows_updated: int
    events_written: int


class PresenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def apply(self, changes: Sequence[PresenceChange], stale_after_s: float) -> AppliedBatch:
        if not changes:
            return AppliedBatch(0, 0)
        result = await self._session.execute(
            _APPLY,
            {
                "ids": [c.agent_id for c in changes],
                "statuses": [c.status for c in changes],
                "seen": [c.last_seen_at for c in changes],
                "stale_after_s": stale_after_s,
                "event_type": str(EventType.AGENT_STATUS_CHANGED),
            },
        )
        updated, events = result.one()
        if events:
            await self._session.execute(NOTIFY)  # wakes the outbox's followers at commit
        return AppliedBatch(int(updated), int(events))
