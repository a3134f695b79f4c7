"""Pure search rules: what counts as a query, and which catalog matches are understood."""

from __future__ import annotations

import pytest

from server.domain.errors import InvalidArgument
from server.domain.search import AgentFilter, CapabilityCandidate
from server.search.query import find_input, looks_for_something, search_input, suggest_prefix
from server.search.service import understood


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("translation", True),
        ('"book a flight"', True),
        ('-spam "exact words"', True),
        ("python -java", True),
        ("-spam -ads", False),
        ("-spam or -ads", False),
        ("% ' \\ :*", False),
        ('""', False),
    ],
)
def test_looks_for_something(query: str, expected: bool) -> None:
    assert looks_for_something(query) is expected


def test_exclusions_alone_are_fine_with_a_filter() -> None:
    text, _ = search_input("-spam", AgentFilter(tags=("travel",)))
    assert text == "-spam"


def test_search_input_collects_every_violation() -> None:
    with pytest.raises(InvalidArgument) as caught:
        search_input(
            "x" * 300, AgentFilter(min_trust_score=-1, tags=tuple("abcdefghijklmnopqrstu"))
        )
    assert [v.field for v in caught.value.violations] == [
        "query",
        "filter.tags",
        "filter.min_trust_score",
    ]


def test_filters_are_normalised_so_tokens_match() -> None:
    _, first = search_input("x", AgentFilter(tags=("B", "a", "b")))
    _, second = search_input("x", AgentFilter(tags=("a", "b")))
    assert first.fingerprint() == second.fingerprint()


def test_queries_are_read_with_spacing_collapsed_and_ascii_lower_cased() -> None:
    assert search_input("  Python\tOR   Java ", AgentFilter())[0] == "python or java"
    assert find_input("Book ME a FLIGHT", AgentFilter())[0] == "book me a flight"
    # Postgres lower-cases other letters by its locale: they keep their case here.
    assert search_input("İSTANBUL ÉTÉ", AgentFilter())[0] == "İstanbul ÉtÉ"
    # The length limit applies to the query as read, not to its padding.
    assert search_input("x" + " " * 300, AgentFilter())[0] == "x"
    with pytest.raises(InvalidArgument):
        search_input("x " * 129, AgentFilter())


def test_suggest_prefix_is_lower_cased_and_trimmed() -> None:
    assert suggest_prefix("  Lisb  ") == "lisb"


def test_understood_keeps_strong_matches_only() -> None:
    candidates = [
        CapabilityCandidate("code-review", 0.35),
        CapabilityCandidate("code-generation", 0.18),
        CapabilityCandidate("legal-review", 0.17),
    ]
    matched = understood(candidates)
    assert [m.capability_id for m in matched] == ["code-review"]
    assert 0.7 < matched[0].confidence < 0.8


def test_understood_ignores_a_lone_description_word() -> None:
    assert understood([CapabilityCandidate("accounting", 0.04)]) == []
    assert understood([]) == []
