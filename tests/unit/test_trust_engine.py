"""The trust computation on small graphs whose answers can be reasoned out by hand."""

from __future__ import annotations

import numpy as np

from server.trust.engine import (
    KIND_BEHAVIOUR,
    KIND_CAPABILITY,
    KIND_IDENTITY,
    TrustGraph,
    TrustParameters,
    compute,
    to_scores,
)


def graph(
    agents: int,
    edges: list[tuple[int, int, int, float, int]],
    verified: list[int],
    capabilities: int = 2,
) -> TrustGraph:
    """edges: (attester, subject, kind, value, capability)."""
    columns = list(zip(*edges, strict=True)) if edges else [[], [], [], [], []]
    flags = np.zeros(agents, dtype=bool)
    flags[verified] = True
    return TrustGraph(
        agents=agents,
        capabilities=capabilities,
        verified=flags,
        attester=np.array(columns[0], dtype=np.int64),
        subject=np.array(columns[1], dtype=np.int64),
        kind=np.array(columns[2], dtype=np.int8),
        value=np.array(columns[3], dtype=np.float64),
        capability=np.array(columns[4], dtype=np.int64),
    )


def behaviour(a: int, b: int, score: float) -> tuple[int, int, int, float, int]:
    return (a, b, KIND_BEHAVIOUR, score, -1)


def test_without_seeds_nobody_has_standing() -> None:
    result = compute(graph(3, [behaviour(0, 1, 100), behaviour(1, 2, 100)], verified=[]))
    assert result.seeds == 0
    assert result.score.tolist() == [0.0, 0.0, 0.0]
    assert not result.reachable.any()


def test_trust_flows_from_the_seed_along_positive_claims() -> None:
    result = compute(graph(4, [behaviour(0, 1, 100), behaviour(1, 2, 100)], verified=[0]))
    assert result.reachable.tolist() == [True, True, True, False]
    assert result.score[3] == 0.0  # never mentioned: the baseline
    assert abs(result.share.sum() - 1.0) < 1e-9
    assert result.component_size.tolist() == [3, 3, 3, 1]
    assert result.component_seeded.tolist() == [True, True, True, False]


def test_a_ring_without_inbound_trust_gains_nothing() -> None:
    ring = [behaviour(3 + i, 3 + (i + 1) % 5, 100) for i in range(5)]
    honest = [behaviour(0, 1, 90), behaviour(1, 2, 90), behaviour(2, 0, 90)]
    zero_for_honest = [behaviour(3, 1, 0)]
    before = compute(graph(8, honest + ring, verified=[0]))
    after = compute(graph(8, honest + ring + zero_for_honest, verified=[0]))
    assert after.score[3:].tolist() == [0.0] * 5
    assert after.score[:3].tolist() == before.score[:3].tolist()
    # The ring is in the seed's weak component but unreachable along positive claims.
    assert after.component_seeded[3] and not after.reachable[3]


def test_repeating_a_claim_does_not_add_weight() -> None:
    once = compute(graph(3, [behaviour(0, 1, 80), behaviour(0, 2, 80)], verified=[0]))
    repeated = compute(graph(3, [behaviour(0, 1, 80)] * 10 + [behaviour(0, 2, 80)], verified=[0]))
    assert repeated.score.tolist() == once.score.tolist()


def test_zero_opinions_withhold_trust_rather_than_push_it() -> None:
    result = compute(graph(3, [behaviour(0, 1, 0), behaviour(0, 2, 100)], verified=[0]))
    assert not result.reachable[1] and result.reachable[2]
    assert result.behaviour_claims.tolist() == [0, 1, 1]
    assert result.behaviour_average[2] == 100.0
    assert result.distinct_attesters.tolist() == [0, 1, 1]


def test_identity_and_capability_claims_carry_trust() -> None:
    edges = [(0, 1, KIND_IDENTITY, 1.0, -1), (0, 2, KIND_CAPABILITY, 1.0, 0)]
    result = compute(graph(3, edges, verified=[0]))
    assert result.reachable.tolist() == [True, True, True]
    assert result.score[1] == result.score[2]


def test_capability_support_weighs_attesters_by_their_scores() -> None:
    edges = [
        (0, 3, KIND_CAPABILITY, 1.0, 1),
        (1, 3, KIND_CAPABILITY, 1.0, 1),
        (2, 3, KIND_CAPABILITY, 0.0, 1),
        (0, 1, KIND_BEHAVIOUR, 100.0, -1),
    ]
    result = compute(graph(4, edges, verified=[0, 2]), TrustParameters(verify_threshold=1.0))
    tally = result.capabilities
    assert tally.subject.tolist() == [3] and tally.capability.tolist() == [1]
    assert (tally.positive[0], tally.negative[0]) == (1 + 1, 1)
    expected = result.score[0] + result.score[1] - result.score[2]
    assert abs(tally.support[0] - expected) < 0.02
    assert tally.verified[0] == (tally.support[0] >= 1.0)


def test_score_mapping_is_50_for_the_average_share() -> None:
    scores = to_scores(np.array([0.25, 0.25, 0.25, 0.25, 0.0]))
    assert scores.tolist() == [50.0, 50.0, 50.0, 50.0, 0.0]
    doubled = to_scores(np.array([0.4, 0.2, 0.2, 0.2]))
    assert doubled[0] == 56.78  # 50 + 10 * log2(0.4 * 4)
    assert to_scores(np.array([1e-9, 1.0 - 1e-9]))[0] == 0.0  # clipped at the bottom


def test_power_iteration_converges_on_a_cycle() -> None:
    edges = [behaviour(i, (i + 1) % 20, 100) for i in range(20)]
    result = compute(graph(20, edges, verified=[0]))
    assert result.iterations < 200
    assert result.reachable.all()
    # Trust decays with distance from the seed around the cycle.
    assert all(result.share[i] > result.share[i + 1] for i in range(19))
