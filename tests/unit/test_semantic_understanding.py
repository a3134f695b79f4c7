"""How FindAgents merges catalog entries understood by words and by meaning."""

from __future__ import annotations

from server.domain.search import CapabilityCandidate, CapabilityNeighbour, MatchReason
from server.search.service import understood

TEXT, SEMANTIC = MatchReason.TEXT, MatchReason.SEMANTIC


def test_text_only_is_unchanged() -> None:
    matched = understood([CapabilityCandidate("code-review", 0.5)])
    assert [(m.capability_id, m.confidence, m.reasons) for m in matched] == [
        ("code-review", round(0.5 / 0.6, 4), (TEXT,))
    ]


def test_meaning_adds_close_entries_and_keeps_the_stronger_confidence() -> None:
    matched = understood(
        [CapabilityCandidate("payments", 0.1)],
        [
            CapabilityNeighbour("accounting", 0.5),
            CapabilityNeighbour("payments", 0.47),
            CapabilityNeighbour("data-entry", 0.41),  # more than 0.05 below the closest
        ],
    )
    assert [(m.capability_id, m.reasons) for m in matched] == [
        ("accounting", (SEMANTIC,)),
        ("payments", (SEMANTIC, TEXT)),
    ]
    assert matched[1].confidence == round(0.47 / 0.57, 4)


def test_distant_entries_are_not_understood() -> None:
    assert understood([], [CapabilityNeighbour("weather", 0.3)]) == []


def test_words_the_meaning_does_not_support_are_not_understood() -> None:
    """ "keep the books for my bakery": its words rank travel booking first, its meaning
    is bookkeeping."""
    matched = understood(
        [CapabilityCandidate("travel-booking", 0.23), CapabilityCandidate("accounting", 0.08)],
        [
            CapabilityNeighbour("accounting", 0.33),
            CapabilityNeighbour("shopping", 0.22),
            CapabilityNeighbour("travel-booking", 0.21),
        ],
    )
    assert [(m.capability_id, m.reasons) for m in matched] == [("accounting", (SEMANTIC, TEXT))]


def test_words_confirm_a_closest_entry_below_the_meaning_floor() -> None:
    matched = understood(
        [CapabilityCandidate("devops", 0.12)],
        [CapabilityNeighbour("devops", 0.3), CapabilityNeighbour("recruiting", 0.11)],
    )
    assert [m.capability_id for m in matched] == ["devops"]
    # Without the words, 0.3 is no closer than made-up words come.
    assert understood([], [CapabilityNeighbour("devops", 0.3)]) == []
