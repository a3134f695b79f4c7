"""Webhooks and their deliveries as the rest of the server sees them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from server.domain.changes import ChangeEvent
from server.domain.ids import id_pattern

WEBHOOK_PREFIX = "wh_"
WEBHOOK_ID = id_pattern(WEBHOOK_PREFIX)


class WebhookState(enum.StrEnum):
    ENABLED = "enabled"
    PAUSED = "paused"
    DISABLED = "disabled"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Webhook:
    webhook_id: str
    agent_id: str
    url: str
    event_types: tuple[str, ...]
    state: WebhookState
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime
    # Only set in the results of create and rotate: the secret is shown once.
    secret: str = ""


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    delivery_id: int
    webhook_id: str
    agent_id: str
    event_id: int
    event_type: str
    state: DeliveryState
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime | None


@dataclass(frozen=True, slots=True)
class DueDelivery:
    """A webhook's oldest pending delivery whose attempt is due, with what sending needs."""

    delivery_id: int
    webhook_id: str
    agent_id: str
    url: str
    secret: str
    attempts: int
    event: ChangeEvent


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """What one HTTP attempt gave; `status_code` is None when no response came back."""

    delivery_id: int
    webhook_id: str
    agent_id: str
    succeeded: bool
    status_code: int | None
    error: str | None
    attempts: int
