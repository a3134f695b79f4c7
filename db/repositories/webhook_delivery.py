"""SQL of webhook delivery: fan-out from the outbox, picking due heads, recording attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import BigInteger, Boolean, DateTime, Integer, Text

from db.models import FeedCursorRow, WebhookRow
from server.domain.changes import ChangeEvent
from server.domain.webhooks import DueDelivery

# One row per (matching enabled webhook, event). A webhook only receives events
# committed after it was created; UNIQUE (webhook_id, event_id) makes a re-run a no-op.
_FAN_OUT = text(
    """
    INSERT INTO webhook_deliveries (webhook_id, event_id, next_attempt_at)
    SELECT w.id, e.id, now()
    FROM events e
    JOIN webhooks w ON w.agent_id = e.agent_id
    WHERE e.id BETWEEN :first AND :last
      AND w.state = 'enabled'
      AND e.created_at >= w.created_at
      AND (cardinality(w.event_types) = 0 OR e.event_type = ANY (w.event_types))
    ORDER BY e.id, w.id
    ON CONFLICT (webhook_id, event_id) DO NOTHING
    """
)

# Ordered per webhook: only the oldest pending delivery of each enabled webhook is
# a candidate, so a failing head holds back the ones behind it. One index probe per
# enabled webhook (ix_webhook_deliveries_pending_webhook_id_event_id), independent
# of how many deliveries are queued behind the heads.
_DUE_HEADS = text(
    """
    SELECT d.id, w.id AS webhook_id, w.agent_id AS owner_id, w.url, w.secret, d.attempts,
           e.id AS event_id, e.event_type, e.agent_id, e.created_at, e.data
    FROM webhooks w
    CROSS JOIN LATERAL (
        SELECT id, event_id, attempts, next_attempt_at
        FROM webhook_deliveries
        WHERE webhook_id = w.id AND state = 'pending'
        ORDER BY event_id
        LIMIT 1
    ) d
    JOIN events e ON e.id = d.event_id
    WHERE w.state = 'enabled' AND d.next_attempt_at <= now() AND NOT (w.id = ANY (:busy))
    ORDER BY d.next_attempt_at
    LIMIT :limit
    """
).bindparams(bindparam("busy", type_=ARRAY(Text)))

_RECORD_ATTEMPTS = text(
    """
    UPDATE webhook_deliveries d
    SET state = v.state, attempts = v.attempts, last_status_code = v.code,
        last_error = v.error, next_attempt_at = v.next_at, updated_at = now()
    FROM unnest(:ids, :states, :attempts, :codes, :errors, :next_at)
         AS v(id, state, attempts, code, error, next_at)
    WHERE d.id = v.id AND d.state = 'pending'
    """
).bindparams(
    bindparam("ids", type_=ARRAY(BigInteger)),
    bindparam("states", type_=ARRAY(Text)),
    bindparam("attempts", type_=ARRAY(Integer)),
    bindparam("codes", type_=ARRAY(Integer)),
    bindparam("errors", type_=ARRAY(Text)),
    bindparam("next_at", type_=ARRAY(DateTime(timezone=True))),
)

# Sorted by id so concurrent writers (UpdateWebhook) lock webhooks in one order.
_COUNT_FAILURES = text(
    """
    UPDATE webhooks w
    SET consecutive_failures = CASE WHEN v.ok THEN 0 ELSE w.consecutive_failures + 1 END
    FROM (SELECT * FROM unnest(:ids, :ok) AS u(id, ok) ORDER BY id) v
    WHERE w.id = v.id
    RETURNING w.id, w.agent_id, w.consecutive_failures, w.state
    """
).bindparams(bindparam("ids", type_=ARRAY(Text)), bindparam("ok", type_=ARRAY(Boolean)))


class WebhookDeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def cursor(self, name: str) -> int:
        """The consumer's position; 0 before its first run."""
        query = select(FeedCursorRow.position).where(FeedCursorRow.name == name)
        return int((await self._session.execute(query)).scalar_one_or_none() or 0)

    async def move_cursor(self, name: str, position: int) -> None:
        await self._session.execute(
            text(
                "INSERT INTO feed_cursors (name, position) VALUES (:name, :position) "
                "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_at = now()"
            ),
            {"name": name, "position": position},
        )

    async def fan_out(self, first: int, last: int) -> int:
        result = await self._session.execute(_FAN_OUT, {"first": first, "last": last})
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def due_heads(self, limit: int, busy: Sequence[str] = ()) -> list[DueDelivery]:
        """Due heads of webhooks other than `busy` (those with an attempt in flight)."""
        params = {"limit": limit, "busy": list(busy)}
        rows = (await self._session.execute(_DUE_HEADS, params)).all()
        return [
            DueDelivery(
                delivery_id=row.id,
                webhook_id=row.webhook_id,
                agent_id=row.owner_id,
                url=row.url,
                secret=row.secret,
                attempts=row.attempts,
                event=ChangeEvent(
                    event_id=row.event_id,
                    event_type=row.event_type,
                    agent_id=row.agent_id,
                    created_at=row.created_at,
                    data=dict(row.data),
                ),
            )
            for row in rows
        ]

    async def record_attempts(
        self,
        ids: Sequence[int],
        states: Sequence[str],
        attempts: Sequence[int],
        codes: Sequence[int | None],
        errors: Sequence[str | None],
        next_at: Sequence[datetime | None],
    ) -> None:
        """One statement for a whole round (bulk UPDATE … FROM unnest)."""
        await self._session.execute(
            _RECORD_ATTEMPTS,
            {
                "ids": list(ids),
                "states": list(states),
                "attempts": list(attempts),
                "codes": list(codes),
                "errors": list(errors),
                "next_at": list(next_at),
            },
        )

    async def count_failures(self, outcomes: dict[str, bool]) -> list[tuple[str, str, int, str]]:
        """Reset or bump consecutive_failures; (webhook_id, agent_id, failures, state) back."""
        ordered = sorted(outcomes)
        rows = (
            await self._session.execute(
                _COUNT_FAILURES, {"ids": ordered, "ok": [outcomes[i] for i in ordered]}
            )
        ).all()
        return [(r.id, r.agent_id, r.consecutive_failures, r.state) for r in rows]

    async def disable(self, webhook_id: str) -> bool:

        result = await self._session.execute(
            update(WebhookRow)
            .where(WebhookRow.id == webhook_id, WebhookRow.state == "enabled")
            .values(state="disabled", updated_at=func.now())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def delete_finished_before(self, cutoff: datetime) -> int:
        """Delivery log past retention; pending ones stay until they finish."""
        result = await self._session.execute(
            text(
                "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND updated_at < :cutoff"
            ),
            {"cutoff": cutoff},
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
