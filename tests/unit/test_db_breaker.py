"""The "Postgres is not answering" breaker on an injected clock: what opens it, what it
refuses while cooling down, one probe at a time afterwards, and what closes it."""

from __future__ import annotations

import psycopg
import pytest

from db.breaker import Breaker, NotAnswering, SilentServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _silence(breaker: Breaker, error: Exception | None = None) -> None:
    with pytest.raises(type(error) if error else SilentServer), breaker.exchange():
        raise error or SilentServer("no reply")


def test_closed_breaker_lets_every_exchange_through() -> None:
    breaker = Breaker(cool_down_s=1.0, clock=Clock())
    with breaker.exchange(), breaker.exchange():  # concurrent exchanges too
        pass
    breaker.refuse_if_open()
    assert not breaker.is_open


def test_a_statement_error_or_refused_connection_does_not_open_it() -> None:
    """Only silence opens it: a server that answers with an error is answering."""
    breaker = Breaker(cool_down_s=1.0, clock=Clock())
    _silence(breaker, psycopg.errors.QueryCanceled("statement timeout"))
    _silence(breaker, psycopg.OperationalError("connection refused"))
    assert not breaker.is_open


@pytest.mark.parametrize(
    "error", [SilentServer("no reply"), psycopg.errors.ConnectionTimeout("connect")]
)
def test_silence_refuses_everything_during_the_cool_down(error: Exception) -> None:
    clock = Clock()
    breaker = Breaker(cool_down_s=1.0, clock=clock)
    _silence(breaker, error)
    assert breaker.is_open
    clock.now += 0.9
    with pytest.raises(NotAnswering):
        breaker.refuse_if_open()
    with pytest.raises(NotAnswering), breaker.exchange():
        raise AssertionError("a refused exchange never runs")
    assert issubclass(NotAnswering, psycopg.OperationalError)  # maps to UNAVAILABLE


def test_after_the_cool_down_one_probe_at_a_time_and_its_answer_closes_it() -> None:
    clock = Clock()
    breaker = Breaker(cool_down_s=1.0, clock=clock)
    _silence(breaker)
    clock.now += 1.0
    with breaker.exchange():  # the probe
        with pytest.raises(NotAnswering), breaker.exchange():
            pass  # others are refused while it is out: nobody queues
        with pytest.raises(NotAnswering):
            breaker.refuse_if_open()
    assert not breaker.is_open
    with breaker.exchange():
        pass


def test_a_silent_probe_reopens_it_for_another_cool_down() -> None:
    clock = Clock()
    breaker = Breaker(cool_down_s=1.0, clock=clock)
    _silence(breaker)
    clock.now += 1.5
    _silence(breaker)  # the probe heard nothing either
    clock.now += 0.5
    with pytest.raises(NotAnswering):
        breaker.refuse_if_open()
    clock.now += 0.5
    with breaker.exchange():
        pass
    assert not breaker.is_open


def test_a_probe_that_shows_nothing_hands_the_turn_to_the_next_caller() -> None:
    """Cancelled, or failed without a verdict: the breaker stays open, not stuck probing."""
    clock = Clock()
    breaker = Breaker(cool_down_s=1.0, clock=clock)
    _silence(breaker)
    clock.now += 1.0
    with pytest.raises(KeyError), breaker.exchange():
        raise KeyError("not a verdict on the server")
    assert breaker.is_open
    with breaker.exchange():  # the next probe
        pass
    assert not breaker.is_open
