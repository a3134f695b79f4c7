"""Who is calling: resolved once per call by the call layer (server/calls), handed to
the use cases that check it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.domain import refusals
from server.domain.api_keys import Plan, Scope, grants

ALL_SCOPES = (Scope.READ, Scope.WRITE, Scope.ADMIN)  # what an agent's own session holds


class Tier(enum.StrEnum):
    """Rate-limit tiers, lowest first."""

    ANONYMOUS = "anonymous"
    AGENT = "agent"
    VERIFIED = "verified"
    FREE = "key_free"
    PRO = "key_pro"
    ENTERPRISE = "key_enterprise"


_PLAN_TIER = {Plan.FREE: Tier.FREE, Plan.PRO: Tier.PRO, Plan.ENTERPRISE: Tier.ENTERPRISE}


@dataclass(frozen=True, slots=True)
class Principal:
    """An agent acting through a session (every agent scope) or through one of its API keys;
    or an operator (agent_id empty, scope operator) through an operator key."""

    agent_id: str
    verified: bool = False
    api_key_id: str | None = None
    scopes: tuple[Scope, ...] = ALL_SCOPES
    plan: Plan | None = None
    expires_at: float | None = None  # an API key's expire_time (unix seconds), if it has one

    @property
    def tier(self) -> Tier:
        if self.plan is not None:
            return _PLAN_TIER[self.plan]
        return Tier.VERIFIED if self.verified else Tier.AGENT


def require_agent(
    principal: Principal | None, agent_id: str, scope: Scope = Scope.WRITE
) -> Principal:
    """The caller must act for exactly this agent, holding `scope`."""
    if principal is None:
        raise refusals.session_required("a session token or API key is required")
    if principal.agent_id != agent_id:
        raise refusals.not_owner(agent_id)
    if not grants(principal.scopes, scope):
        raise refusals.scope_missing(str(scope))
    return principal


def require_operator(principal: Principal | None) -> Principal:
    if principal is None:
        raise refusals.session_required("an operator API key is required")
    if not grants(principal.scopes, Scope.OPERATOR):
        raise refusals.operator_required()
    return principal


def require_session(principal: Principal | None, agent_id: str) -> Principal:
    """Managing credentials needs the agent's own session or an admin-scoped key."""
    return require_agent(principal, agent_id, Scope.ADMIN)
