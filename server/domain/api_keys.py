"""API keys: long-lived credentials of an agent's integrations, with scopes and a plan."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Scope(enum.StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    # Only on operator keys (owned by no agent), minted by `python -m server.admin`.
    OPERATOR = "operator"


class Plan(enum.StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


DEFAULT_SCOPES = (Scope.READ,)


@dataclass(frozen=True, slots=True)
class ApiKey:
    key_id: str
    agent_id: str | None  # None for an operator key
    display_name: str
    key_prefix: str
    scopes: tuple[Scope, ...]
    plan: Plan
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
