"""The Lua loader: fragments composed once each, in order, constants filled."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from server.hot import scripts

_LUA = Path(scripts.__file__).with_name("lua")
_NAMES = sorted(path.stem for path in _LUA.glob("*.lua"))
_CONSTANTS = {"ADMIT_ARGS": 7, "LOCK_MS": 3000}


@pytest.mark.parametrize("name", _NAMES)
def test_every_script_composes_with_its_constants_filled(name: str) -> None:
    text = scripts.text(name, **_CONSTANTS)
    assert "$" not in text
    for used in scripts._uses(name):
        assert scripts.text(used, **_CONSTANTS) in text


def test_the_budget_rule_is_written_once_and_used_by_every_counting_script() -> None:
    defining = [n for n in _NAMES if "redis.call('INCR'" in scripts._read(n)]
    assert defining == ["budget"]
    for name in ("cache_lookup", "count_and_live", "count", "beat_now", "claim", "read_session"):
        text = scripts.text(name, **_CONSTANTS)
        assert text.count("local function count_call(") == 1, name


def test_fragments_come_before_what_uses_them_and_only_once() -> None:
    text = scripts.text("beat_now", **_CONSTANTS)
    budget = text.index("local function count_call(")
    admit = text.index("local function admit(")
    preamble = text.index("local A = 7")
    work = text.index("local status, at")
    assert budget < admit < preamble < work
    assert text.count("local function admit(") == 1


def test_a_constant_left_unfilled_is_an_error_not_a_broken_script() -> None:
    with pytest.raises(KeyError, match="LOCK_MS"):
        scripts.text("cache_lookup")


def test_a_script_and_its_sha_match() -> None:
    script = scripts.load("count")
    assert script.sha == hashlib.sha1(script.text.encode()).hexdigest()
    assert script.text == scripts.text("count")
