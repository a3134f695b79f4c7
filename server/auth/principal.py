"""Who is calling: set once per RPC by the auth interceptor, read by servicers."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass

from server.domain.errors import PermissionDenied, Unauthenticated


@dataclass(frozen=True, slots=True)
class Principal:
    agent_id: str


_current: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "principal", default=None
)


def set_current(principal: Principal | None) -> contextvars.Token[Principal | None]:
    return _current.set(principal)


def current() -> Principal | None:
    return _current.get()


def require_agent(agent_id: str) -> Principal:
    """The caller must hold a session of exactly this agent."""
    principal = _current.get()
    if principal is None:
        raise Unauthenticated("a session token is required", reason="SESSION_REQUIRED")
    if principal.agent_id != agent_id:
        raise PermissionDenied("only the agent itself may do this", reason="NOT_OWNER")
    return principal
