"""A call's admission ticket: checked exactly once, and a refusal beats the handler's error."""

from __future__ import annotations

import pytest

from server.call import Call
from server.domain import refusals
from server.hot.ticket import CountTicket, Ticket


class _Check(Ticket):
    """A check that counts its ordinary runs and refuses when told to."""

    __slots__ = ("refuse", "runs")

    def __init__(self, refuse: bool = False) -> None:
        super().__init__()
        self.refuse = refuse
        self.runs = 0

    async def _resolve(self) -> None:
        self.runs += 1
        if self.refuse:
            raise refusals.session_invalid()


class _Count(CountTicket):
    __slots__ = ("counts",)

    def __init__(self) -> None:
        super().__init__()
        self.counts: list[int] = []

    @property
    def counter(self) -> tuple[str, int, int]:
        return "budget", 60, 10

    def settle(self, count: int) -> None:
        self._settle()
        self.counts.append(count)

    async def _resolve(self) -> None:
        self.counts.append(-1)


def test_only_the_first_taker_gets_the_check() -> None:
    ticket = _Check()
    assert ticket.take() is True
    assert ticket.take() is False
    assert not ticket.settled


async def test_a_check_nobody_took_runs_once_after_the_handler() -> None:
    ticket = _Check()
    await ticket.finish()
    await ticket.finish()
    assert ticket.runs == 1 and ticket.settled
    assert ticket.take() is False  # too late for a script


async def test_a_taken_check_is_not_run_again_after_the_handler() -> None:
    ticket = _Count()
    assert ticket.take()
    ticket.settle(3)
    await ticket.finish()
    assert ticket.counts == [3]


async def test_a_taker_whose_script_did_not_run_resolves_it_the_ordinary_way() -> None:
    ticket = _Count()
    assert ticket.take()
    await ticket.resolve()
    await ticket.finish()
    assert ticket.counts == [-1] and ticket.settled


async def test_a_refusal_beats_the_handlers_own_error() -> None:
    ticket = _Check(refuse=True)
    handler_error = ValueError("the handler's own failure")
    heard = await ticket.refusal_first(handler_error)
    assert heard is not handler_error and "session" in str(heard).lower()
    assert ticket.runs == 1


async def test_a_taken_but_unsettled_check_still_refuses_first() -> None:
    """The script was taken but failed before its verdict (Redis went away)."""
    ticket = _Check(refuse=True)
    assert ticket.take()
    heard = await ticket.refusal_first(ValueError("redis went away"))
    assert not isinstance(heard, ValueError) and ticket.runs == 1


async def test_a_settled_check_leaves_the_handlers_error_alone() -> None:
    ticket = _Check(refuse=True)
    with pytest.raises(Exception):  # noqa: B017 - the refusal itself
        await ticket.finish()
    handler_error = ValueError("later failure")
    assert await ticket.refusal_first(handler_error) is handler_error
    assert ticket.runs == 1


async def test_an_admitted_check_leaves_the_handlers_error_alone() -> None:
    ticket = _Check()
    handler_error = ValueError("not found")
    assert await ticket.refusal_first(handler_error) is handler_error
    assert ticket.runs == 1


class _NoContext:
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", "r-7"),)


def test_a_call_hands_its_ticket_only_to_a_taker_of_its_kind() -> None:
    call = Call.of(_NoContext())  # type: ignore[arg-type]
    assert call.take_count() is None and call.take_session() is None  # none yet
    ticket = call.ticket = _Count()
    assert call.take_session() is None  # another kind: left for its own taker
    assert call.take_count() is ticket
    assert call.take_count() is None  # once
    assert call.pairs == [("x-request-id", "r-7")]
