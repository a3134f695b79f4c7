"""Entries of the change feed (the events outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One committed change; `event_id` grows monotonically, so feeds resume after it."""

    event_id: int
    event_type: str
    agent_id: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)
