"""A check the call layer (server/calls/call.py) leaves to a handler's first Redis script.

Some calls' work starts with one Redis script: a unary heartbeat, a heartbeat stream's
opening, a cached read's lookup. Checking the caller's session or counting the call
against its budget beforehand would be a round trip of its own, so the call layer
hands the check to the handler (`begin`), the handler's script runs it alongside its
work (`take`), and the call layer runs it the ordinary way (`resolve`) for a call
that ended before its script did: every call is checked exactly once, and a refusal is
what the caller hears.

The two kinds: DeferredSession (server/calls/auth.py: the session check and its
budget count) and PendingCount (server/calls/rate_limit.py: the budget count).
"""

from __future__ import annotations

import contextvars
from typing import Protocol, TypeVar


class Deferred(Protocol):
    taken: bool  # a handler's script has it
    settled: bool  # its verdict is in (from a script or `resolve`)

    async def resolve(self) -> object:
        """The ordinary path: the check on its own, raising the refusal if any."""
        ...


D = TypeVar("D", bound=Deferred)

_current: contextvars.ContextVar[Deferred | None] = contextvars.ContextVar(
    "deferred_check", default=None
)


def begin(pending: Deferred) -> None:
    _current.set(pending)


def current() -> Deferred | None:
    """The call's deferred check, taken or not."""
    return _current.get()


def take(kind: type[D]) -> D | None:
    """The call's check still to run, if it is of the kind the caller's script runs; taken
    once (a second taker gets None: for a session that means no principal, failing closed)."""
    pending = _current.get()
    if not isinstance(pending, kind) or pending.taken:
        return None
    pending.taken = True
    return pending


async def settle_untaken() -> None:
    """After a handler that answered without running the check: run it now."""
    pending = _current.get()
    if pending is not None and not pending.taken and not pending.settled:
        pending.taken = True
        await pending.resolve()


async def refusal_first(raised: Exception) -> Exception:
    """A call that failed before its script ran the check: a bad credential or a spent
    budget is still what the caller hears, as on any other call."""
    pending = _current.get()
    if pending is None or pending.settled:
        return raised
    try:
        await pending.resolve()
    except Exception as refusal:  # the refusal replaces the handler's error
        return refusal
    return raised
