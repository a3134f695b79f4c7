"""All SQL about webhooks and their delivery log (the CRUD side; sending is webhook_delivery)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import EventRow, WebhookDeliveryRow, WebhookRow
from db.repositories.keyset import after, build_page, check_limit, decode_timestamp_cursor
from db.repositories.rows import AnyRow
from server.domain.agents import Page
from server.domain.errors import InvalidArgument
from server.domain.webhooks import DeliveryState, Webhook, WebhookDelivery, WebhookState

_WEBHOOK_COLUMNS = (
    WebhookRow.id,
    WebhookRow.agent_id,
    WebhookRow.url,
    WebhookRow.event_types,
    WebhookRow.state,
    WebhookRow.consecutive_failures,
    WebhookRow.created_at,
    WebhookRow.updated_at,
)


def _to_webhook(row: AnyRow) -> Webhook:
    return Webhook(
        webhook_id=row.id,
        agent_id=row.agent_id,
        url=row.url,
        event_types=tuple(row.event_types),
        state=WebhookState(row.state),
        consecutive_failures=row.consecutive_failures,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _cursor(row: AnyRow) -> tuple[str, ...]:
    return (row.created_at.isoformat(), str(row.id))


def _to_delivery(row: AnyRow) -> WebhookDelivery:
    return WebhookDelivery(
        delivery_id=row.id,
        webhook_id=row.webhook_id,
        agent_id=row.agent_id,
        event_id=row.event_id,
        event_type=row.event_type,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
    )


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        webhook_id: str,
        agent_id: str,
        url: str,
        event_types: list[str],
        state: str,
        secret: str,
    ) -> Webhook:
        row = (
            await self._session.execute(
                insert(WebhookRow)
                .values(
                    id=webhook_id,
                    agent_id=agent_id,
                    url=url,
                    event_types=event_types,
                    state=state,
                    secret=secret,
                )
                .returning(*_WEBHOOK_COLUMNS)
            )
        ).one()
        return _to_webhook(row)

    async def get(self, agent_id: str, webhook_id: str, *, lock: bool = False) -> Webhook | None:
        query = select(*_WEBHOOK_COLUMNS).where(
            WebhookRow.id == webhook_id, WebhookRow.agent_id == agent_id
        )
        if lock:
            query = query.with_for_update(key_share=True)
        row = (await self._session.execute(query)).one_or_none()
        return None if row is None else _to_webhook(row)

    async def list_page(
        self, agent_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[Webhook]:
        """Newest first, served by ix_webhooks_agent_id_created_at_id."""
        check_limit(limit)
        query = select(*_WEBHOOK_COLUMNS).where(WebhookRow.agent_id == agent_id)
        if cursor is not None:
            created_at, webhook_id = decode_timestamp_cursor(cursor)
            query = query.where(
                after(
                    [WebhookRow.created_at, WebhookRow.id],
                    [created_at, webhook_id],
                    descending=True,
                )
            )
        query = query.order_by(WebhookRow.created_at.desc(), WebhookRow.id.desc()).limit(limit + 1)
        rows = (await self._session.execute(query)).all()
        return build_page(rows, limit, _to_webhook, _cursor)

    async def count(self, agent_id: str) -> int:
        query = select(func.count()).select_from(WebhookRow).where(WebhookRow.agent_id == agent_id)
        return int((await self._session.execute(query)).scalar_one())

    async def pending_deliveries(self) -> int:
        """The delivery backlog, counted from the partial index on pending rows."""
        query = (
            select(func.count())
            .select_from(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.state == DeliveryState.PENDING.value)
        )
        return int((await self._session.execute(query)).scalar_one())

    async def update(self, webhook_id: str, values: dict[str, Any]) -> Webhook:
        row = (
            await self._session.execute(
                update(WebhookRow)
                .where(WebhookRow.id == webhook_id)
                .values(**values, updated_at=func.now())
                .returning(*_WEBHOOK_COLUMNS)
            )
        ).one()
        return _to_webhook(row)

    async def delete(self, agent_id: str, webhook_id: str) -> bool:
        """Its deliveries go with it (ON DELETE CASCADE)."""
        result = await self._session.execute(
            delete(WebhookRow).where(WebhookRow.id == webhook_id, WebhookRow.agent_id == agent_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def list_deliveries_page(
        self, webhook_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[WebhookDelivery]:
        """Newest first, served by ix_webhook_deliveries_webhook_id_created_at_id."""
        check_limit(limit)
        query = (
            select(
                WebhookDeliveryRow.id,
                WebhookDeliveryRow.webhook_id,
                WebhookRow.agent_id,
                WebhookDeliveryRow.event_id,
                EventRow.event_type,
                WebhookDeliveryRow.state,
                WebhookDeliveryRow.attempts,
                WebhookDeliveryRow.last_status_code,
                WebhookDeliveryRow.last_error,
                WebhookDeliveryRow.created_at,
                WebhookDeliveryRow.next_attempt_at,
            )
            .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
            .join(EventRow, EventRow.id == WebhookDeliveryRow.event_id)
            .where(WebhookDeliveryRow.webhook_id == webhook_id)
        )
        if cursor is not None:
            created_at, delivery_id = decode_timestamp_cursor(cursor)
            if not delivery_id.isdigit():
                raise InvalidArgument.field("page_token", "is not a token from this query")
            query = query.where(
                after(
                    [WebhookDeliveryRow.created_at, WebhookDeliveryRow.id],
                    [created_at, int(delivery_id)],
                    descending=True,
                )
            )
        query = query.order_by(
            WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc()
        ).limit(limit + 1)
        rows = (await self._session.execute(query)).all()
        return build_page(rows, limit, _to_delivery, _cursor)
