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

# The agent scopes are a ladder, as documented: `write` can read, `admin` can also write.
# `operator` stands apart: it acts for no agent, so it implies no agent scope.
_IMPLIED: dict[Scope, frozenset[Scope]] = {
    Scope.READ: frozenset({Scope.READ}),
    Scope.WRITE: frozenset({Scope.READ, Scope.WRITE}),
    Scope.ADMIN: frozenset({Scope.READ, Scope.WRITE, Scope.ADMIN}),
    Scope.OPERATOR: frozenset({Scope.OPERATOR}),
}


def grants(held: tuple[Scope, ...], needed: Scope) -> bool:
    """Whether a key holding `held` may do what needs `needed`: the one place scopes are
    compared, so a key is never refused something a wider scope it holds allows."""
    return any(needed in _IMPLIED[scope] for scope in held)


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
