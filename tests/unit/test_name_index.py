"""Typeahead's in-memory names: order, prefixes, one-edit matches, and updates in place."""

from __future__ import annotations

from server.search.names import NameIndex, edits_at


def _index(*rows: tuple[str, str]) -> NameIndex:
    index = NameIndex()
    index.load(rows)
    return index


def test_prefix_matches_come_in_name_order_then_id_and_stop_at_the_limit() -> None:
    index = _index(
        ("ag_3", "Amber Swift"),
        ("ag_1", "amber swift"),
        ("ag_2", "Amber"),
        ("ag_4", "Amberly"),
        ("ag_5", "Blue Amber"),
    )
    found = index.starting_with("amber", 10)
    # "amber" sorts before "amber swift" before "amberly", as text_pattern_ops did.
    assert [s.agent_id for s in found] == ["ag_2", "ag_1", "ag_3", "ag_4"]
    assert [s.display_name for s in found][:2] == ["Amber", "amber swift"]
    assert all(s.similarity == 1.0 for s in found)
    assert [s.agent_id for s in index.starting_with("amber", 2)] == ["ag_2", "ag_1"]
    assert index.starting_with("ambr", 10) == []


def test_renames_and_deletions_apply_in_place() -> None:
    index = _index(("ag_1", "Swift Travel"), ("ag_2", "Swift Tours"))
    index.put("ag_1", "Slow Travel")
    index.put("ag_3", "Swift Trains")
    index.drop("ag_2")
    index.drop("ag_missing")
    assert [s.agent_id for s in index.starting_with("swift", 10)] == ["ag_3"]
    assert [s.display_name for s in index.starting_with("slow", 10)] == ["Slow Travel"]
    assert len(index) == 2


def test_one_edit_away_finds_dropped_extra_wrong_and_swapped_letters() -> None:
    index = _index(("ag_1", "Lisbon Courier"), ("ag_2", "Lisbon Cargo"), ("ag_3", "Oslo Courier"))
    for typed in ("lisbn cour", "lisbbon c", "lisbon cpur", "lsibon cour"):
        near = index.one_edit_away(typed, 10)
        assert "ag_1" in [s.agent_id for s in near], typed
        assert all(s.similarity == round((len(typed) - 1) / len(typed), 4) for s in near)
    assert index.one_edit_away("zzzzzz", 10) == []


def test_edits_at_a_position_cover_the_four_kinds_of_typo() -> None:
    variants = edits_at("lisbn", 4)
    assert {"lisbon", "lisbo", "lisb", "lisnb"} <= variants
    assert "lisbn" not in variants


def test_a_letter_dropped_at_a_word_start_is_found_behind_the_first_mismatch() -> None:
    # "bold i" matches "Bold Image", so the first mismatch is after the typo, not at it.
    index = _index(("ag_1", "Bold Billing"), ("ag_2", "Bold Image"))
    assert [s.agent_id for s in index.one_edit_away("bold illing", 10)] == ["ag_1"]
