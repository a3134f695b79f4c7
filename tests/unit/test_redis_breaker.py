"""The Redis breaker: refusals while cooling down, one probe per cool-down, any answer closes."""

from __future__ import annotations

import pytest

from server.redis_breaker import NotAnswering, RedisBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_closed_admits_everything() -> None:
    breaker = RedisBreaker(1.0, Clock())
    for _ in range(3):
        breaker.admit()
    assert not breaker.is_open


def test_silence_refuses_until_the_cool_down_then_lets_one_probe_through() -> None:
    clock = Clock()
    breaker = RedisBreaker(1.0, clock)
    breaker.silent()
    with pytest.raises(NotAnswering):
        breaker.admit()
    clock.now += 1.0
    breaker.admit(probe=False)  # only asks: the probe is not taken
    breaker.admit()  # the probe
    with pytest.raises(NotAnswering):
        breaker.admit()  # the others, while it is out
    clock.now += 1.0
    breaker.admit()  # a probe that never reported: another after a cool-down
    breaker.answered()
    assert not breaker.is_open
    breaker.admit()


def test_a_silent_probe_reopens_for_another_cool_down() -> None:
    clock = Clock()
    breaker = RedisBreaker(1.0, clock)
    breaker.silent()
    clock.now += 1.5
    breaker.admit()
    clock.now += 1.0  # the probe's own reply timeout
    breaker.silent()
    with pytest.raises(NotAnswering):
        breaker.admit()


def test_with_a_prober_every_call_is_refused_and_the_probe_is_its_own() -> None:
    clock = Clock()
    breaker = RedisBreaker(1.0, clock)
    probes: list[float] = []
    breaker.prober = lambda: probes.append(clock.now)
    breaker.silent()
    clock.now += 1.0
    for _ in range(3):  # the first sends the probe; none is let through
        with pytest.raises(NotAnswering):
            breaker.admit()
    assert probes == [101.0]
    clock.now += 1.0  # the probe went unanswered: another
    with pytest.raises(NotAnswering):
        breaker.admit(probe=False)
    assert probes == [101.0, 102.0]
    breaker.answered()  # its reply
    breaker.admit()
