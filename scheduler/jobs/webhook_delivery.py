"""Webhook delivery: fan the outbox out into deliveries, then send the due ones.

Fan-out moves a durable cursor (feed_cursors) over *settled* event ids (see
db/repositories/outbox_reader.py) in the same transaction as the delivery rows it
inserts, so no event is skipped and none is fanned out twice; UNIQUE (webhook_id,
event_id) would absorb a repeat anyway.

Sending is at least once and ordered per webhook: only a webhook's oldest pending
delivery is attempted, one attempt in flight per webhook, many webhooks at once.
A delivery is marked succeeded only after its 2xx is received, so a crash between
the response and the commit sends it again (receivers dedupe on `webhook-id`).
Failed attempts are rescheduled in the database with exponential backoff and full
jitter; after `webhook_max_attempts` a delivery fails for good, and after
`webhook_disable_after_failures` failed attempts in a row the webhook is disabled
and a WEBHOOK_DISABLED event (itself delivered to the owner's other webhooks and the
change feed) is written in the same transaction.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from db.repositories.outbox_reader import OutboxReader
from db.repositories.webhook_delivery import WebhookDeliveryRepository
from db.repositories.webhooks import WebhookRepository
from scheduler.context import JobContext
from server.domain.events import WebhookDisabled
from server.domain.webhooks import DeliveryState, DueDelivery
from server.observability.metrics import WEBHOOK_BACKLOG
from server.webhooks import sender
from server.webhooks.retry import backoff_s

FAN_OUT_CURSOR = "webhooks.fan_out"
FAN_OUT_BATCH = 5000
_FAN_OUT_EVERY_S = 0.1
_GATHER_S = 0.005


async def fan_out(context: JobContext, *, max_batches: int = 20) -> int:
    """Create deliveries for settled events past the cursor; returns rows inserted."""
    inserted = 0
    for _ in range(max_batches):
        async with context.uow() as uow:
            deliveries = WebhookDeliveryRepository(uow.session)
            position = await deliveries.cursor(FAN_OUT_CURSOR)
            # Settle before writing: the wait must not run in a transaction holding an xid.
            first, last = await OutboxReader(uow.session).settled_after(position, FAN_OUT_BATCH)
            if last == position:
                return inserted
            inserted += await deliveries.fan_out(first, last)
            await deliveries.move_cursor(FAN_OUT_CURSOR, last)
            await uow.commit()
    return inserted


async def _record(
    context: JobContext, results: list[tuple[DueDelivery, sender.Outcome]]
) -> tuple[int, int]:
    """Store a batch of outcomes; returns (deliveries failed for good, webhooks disabled)."""
    settings = context.settings
    now = datetime.now(UTC)
    states: list[str] = []
    next_at: list[datetime | None] = []
    for due, outcome in results:
        attempts = due.attempts + 1
        if outcome.succeeded:
            states.append(DeliveryState.SUCCEEDED)
            next_at.append(None)
        elif attempts >= settings.webhook_max_attempts:
            states.append(DeliveryState.FAILED)
            next_at.append(None)
        else:
            delay = backoff_s(attempts, settings.webhook_retry_base_s, settings.webhook_retry_cap_s)
            states.append(DeliveryState.PENDING)
            next_at.append(now + timedelta(seconds=delay))
    disabled = 0
    async with context.uow() as uow:
        deliveries = WebhookDeliveryRepository(uow.session)
        await deliveries.record_attempts(
            [due.delivery_id for due, _ in results],
            states,
            [due.attempts + 1 for due, _ in results],
            [outcome.status_code for _, outcome in results],
            [outcome.error for _, outcome in results],
            next_at,
        )
        counts = await deliveries.count_failures(
            {due.webhook_id: outcome.succeeded for due, outcome in results}
        )
        for webhook_id, agent_id, failures, state in counts:
            tripped = state == "enabled" and failures >= settings.webhook_disable_after_failures
            if tripped and await deliveries.disable(webhook_id):
                disabled += 1
                await uow.events.add(
                    WebhookDisabled(agent_id=agent_id, webhook_id=webhook_id, failures=failures)
                )
        await uow.commit()
    return states.count(DeliveryState.FAILED), disabled


async def _attempt(
    client: httpx.AsyncClient, due: DueDelivery, allow: bool, deadline_s: float
) -> sender.Outcome:
    try:
        return await sender.attempt(client, due, allow, deadline_s=deadline_s)
    except Exception as exc:  # an attempt never takes the run down with it
        return sender.Outcome(False, None, f"{type(exc).__name__}: {exc}"[:500])


async def webhook_delivery(context: JobContext) -> dict[str, Any]:
    settings = context.settings
    figures = {"fanned_out": 0, "attempts": 0, "succeeded": 0, "failed": 0, "disabled": 0}
    deadline = time.monotonic() + settings.webhook_run_budget_s
    limits = httpx.Limits(max_connections=settings.webhook_concurrency)
    async with httpx.AsyncClient(
        timeout=settings.webhook_timeout_s, limits=limits, trust_env=False
    ) as client:
        in_flight: dict[asyncio.Task[sender.Outcome], DueDelivery] = {}
        try:
            await _run(context, client, in_flight, figures, deadline)
        finally:
            # Cancelled (shutdown) or failed: unrecorded attempts stay pending and are resent.
            for task in in_flight:
                task.cancel()
    async with context.uow() as uow:
        figures["backlog"] = await WebhookRepository(uow.session).pending_deliveries()
    WEBHOOK_BACKLOG.set(figures["backlog"])
    return figures


async def _run(
    context: JobContext,
    client: httpx.AsyncClient,
    in_flight: dict[asyncio.Task[sender.Outcome], DueDelivery],
    figures: dict[str, int],
    deadline: float,
) -> None:
    """Keep up to `webhook_concurrency` attempts in flight (one per webhook) until idle."""
    settings = context.settings
    last_fan_out = 0.0
    while True:
        if time.monotonic() - last_fan_out >= _FAN_OUT_EVERY_S:
            figures["fanned_out"] += await fan_out(context)
            last_fan_out = time.monotonic()
        room = settings.webhook_concurrency - len(in_flight)
        if room > 0 and time.monotonic() < deadline:
            busy = [due.webhook_id for due in in_flight.values()]
            async with context.uow() as uow:
                heads = await WebhookDeliveryRepository(uow.session).due_heads(room, busy)
            for due in heads:
                task = asyncio.create_task(
                    _attempt(
                        client, due, settings.webhook_allow_loopback, settings.webhook_timeout_s
                    )
                )
                in_flight[task] = due
        if not in_flight:
            break
        done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
        # Attempts tend to finish together: record a few at once, not one transaction each.
        if len(done) < len(in_flight):
            more, _ = await asyncio.wait(in_flight, timeout=_GATHER_S)
            done |= more
        results = [(in_flight.pop(task), task.result()) for task in done]
        failed, disabled = await _record(context, results)
        figures["attempts"] += len(results)
        figures["succeeded"] += sum(1 for _, outcome in results if outcome.succeeded)
        figures["failed"] += failed
        figures["disabled"] += disabled
