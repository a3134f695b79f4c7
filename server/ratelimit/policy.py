"""Who gets how much: budgets per tier and method class.

Budgets use the `limits` notation ("600/minute"). Each (tier, class) pair has
its own budget; RATE_LIMITS (JSON, `{"anonymous.read": "10/minute", …}`)
overrides entries without a release.
"""

from __future__ import annotations

import enum
import json

from limits import RateLimitItem, parse

from server.domain.principal import Tier


class MethodClass(enum.StrEnum):
    """Each RPC declares its class in its proto (server/method_policy.py)."""

    READ = "read"
    SEARCH = "search"
    WRITE = "write"
    HEARTBEAT = "heartbeat"
    # Calls whose credential did not resolve, counted per client address (anonymous tier).
    AUTH_FAILURE = "auth_failure"


# Per minute. Each step up the tiers at least doubles what a caller may do.
DEFAULT_BUDGETS: dict[Tier, dict[str, int]] = {
    Tier.ANONYMOUS: {
        "read": 300,
        "search": 60,
        "write": 30,
        "heartbeat": 30,
        "auth_failure": 30,
    },
    Tier.AGENT: {"read": 1200, "search": 300, "write": 120, "heartbeat": 120},
    Tier.VERIFIED: {"read": 3000, "search": 900, "write": 600, "heartbeat": 240},
    Tier.FREE: {"read": 6000, "search": 1200, "write": 600, "heartbeat": 240},
    Tier.PRO: {"read": 30000, "search": 6000, "write": 3000, "heartbeat": 1200},
    Tier.ENTERPRISE: {"read": 120000, "search": 30000, "write": 12000, "heartbeat": 6000},
}


class Budgets:
    def __init__(self, overrides_json: str | None = None) -> None:
        self._items: dict[tuple[Tier, MethodClass], RateLimitItem] = {
            (tier, MethodClass(cls)): parse(f"{amount}/minute")
            for tier, classes in DEFAULT_BUDGETS.items()
            for cls, amount in classes.items()
        }
        for key, value in json.loads(overrides_json or "{}").items():
            tier, _, cls = key.partition(".")
            self._items[(Tier(tier), MethodClass(cls))] = parse(value)

    def item(self, tier: Tier, method_class: MethodClass) -> RateLimitItem:
        return self._items[(tier, method_class)]
