"""A call's admission check that its handler's first Redis script may run: checked
exactly once, and a refusal beats the handler's own error.

Some calls' work starts with one Redis script (a unary beat, a heartbeat stream's
opening, a cached read's lookup). Checking the caller's session, or counting the call
against its budget, before the handler would be a round trip of its own, so the call
layer hands the check to the handler as a ticket: the handler's script runs it
alongside its work (`take`, then the kind's own `settle`), and the call layer runs it
the ordinary way for a call whose script never ran it (`finish`, `refusal_first`).

The kinds (what a script needs and how its verdict is applied) are SessionTicket and
CountTicket; the call layer (server/calls/admission.py) makes the concrete ones, so
what takes a ticket (presence, cached responses) depends on this module alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.domain.principal import Principal

ADMIT_ARGS = 7  # admit.lua's arguments; a script's own start at ARGV[ADMIT_ARGS + 1]


@dataclass(frozen=True, slots=True)
class AdmitCheck:
    """What admit.lua needs for one call: the session key and its seven arguments."""

    session_key: str
    args: tuple[str | int, ...]

    @classmethod
    def none(cls) -> AdmitCheck:
        """The caller is resolved already (an API key): the script only does the work."""
        return _NO_CHECK


_NO_CHECK = AdmitCheck("", ("",) * ADMIT_ARGS)


class _State(enum.Enum):
    OPEN = "open"  # nobody has it yet
    TAKEN = "taken"  # a handler's script runs it
    SETTLED = "settled"  # its verdict is in (from a script or from `finish`)


class Ticket:
    """The once-only part every kind shares."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state = _State.OPEN

    @property
    def settled(self) -> bool:
        return self._state is _State.SETTLED

    def take(self) -> bool:
        """True once, for the script that is to run the check; a second taker gets False
        (for a session that means no caller: it fails closed)."""
        if self._state is not _State.OPEN:
            return False
        self._state = _State.TAKEN
        return True

    def _settle(self) -> None:
        """A kind's `settle` marks the verdict in before applying it."""
        self._state = _State.SETTLED

    async def resolve(self) -> None:
        """The check the ordinary way, for a taker whose script did not run."""
        self._state = _State.SETTLED
        await self._resolve()

    async def finish(self) -> None:
        """After a handler that answered without taking the check: run it now."""
        if self._state is _State.OPEN:
            await self.resolve()

    async def refusal_first(self, raised: Exception) -> Exception:
        """A call that failed before a script settled the check: a bad credential or a
        spent budget is what the caller hears, as on any other call; else `raised`."""
        if self._state is _State.SETTLED:
            return raised
        try:
            await self.resolve()
        except Exception as refusal:  # the refusal replaces the handler's error
            return refusal
        return raised

    async def _resolve(self) -> None:
        """The check on its own, the ordinary way, raising its refusal if any."""
        raise NotImplementedError


class SessionTicket(Ticket):
    """A bearer session token checked (and its budget counted) inside the script:
    admit.lua's arguments are `check`; `settle` takes the script's answer."""

    __slots__ = ()

    @property
    def check(self) -> AdmitCheck:
        raise NotImplementedError

    async def settle(self, verdict: str, agent_id: str, verified: bool, count: int) -> Principal:
        """The script's answer: the caller, now the call's, or the refusal raised."""
        raise NotImplementedError


class CountTicket(Ticket):
    """The call's budget count inside the script: INCR `key`, expiring after `window_s`,
    over budget past `budget`; `settle` takes the count."""

    __slots__ = ()

    @property
    def counter(self) -> tuple[str, int, int]:
        """(key, window s, budget)."""
        raise NotImplementedError

    def settle(self, count: int) -> None:
        """The script's count: the response's budget headers, or the refusal raised."""
        raise NotImplementedError
