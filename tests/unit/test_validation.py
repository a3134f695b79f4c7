from __future__ import annotations

from server.domain.agents import AgentProfile, AgentType
from server.domain.validation import normalise_labels, profile_violations


def test_valid_profile_has_no_violations() -> None:
    profile = AgentProfile(
        display_name="Lisbon Trips",
        agent_type=AgentType.SERVICE,
        endpoint_uri="http://127.0.0.1:9000/a2a",
        tags=("travel", "flights"),
        metadata={"k": "v"},
    )
    assert profile_violations(profile) == []


def test_labels_are_lower_cased_and_deduplicated_in_order() -> None:
    assert normalise_labels(["B", "a", "b ", "A"]) == ("b", "a")


def test_missing_type_and_blank_name_both_reported() -> None:
    problems = profile_violations(AgentProfile(display_name=" ", agent_type=None))
    assert {p.field for p in problems} == {"agent.display_name", "agent.type"}
