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
    to_standing_scores,
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
    assert result.standing[0] == 1.0 and 0 < result.standing[2] < result.standing[1]
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


def test_standing_points_lose_ten_per_halving() -> None:
    scores = to_standing_scores(np.array([1.0, 0.5, 1 / 32, 0.0, 1e-9]))
    assert scores.tolist() == [100.0, 90.0, 50.0, 0.0, 0.0]


def test_a_lone_weak_claim_passes_little() -> None:
    edges = [behaviour(0, 1, 1), behaviour(1, 2, 100), behaviour(0, 3, 100), behaviour(3, 4, 100)]
    result = compute(graph(5, edges, verified=[0]))
    assert 0 < result.standing[1] < result.standing[3] / 10
    assert 0 < result.standing[2] < result.standing[4] / 10


def test_one_seed_confers_at_most_its_group_share() -> None:
    """A seed vouching for a target and a crowd of sybils that all vouch for it too."""
    honest = [behaviour(s, h, 90) for s in range(4) for h in range(4, 12)]
    crowd = list(range(12, 62))
    attack = [behaviour(0, 62, 100)] + [behaviour(0, c, 100) for c in crowd]
    attack += [behaviour(c, 62, 100) for c in crowd]
    result = compute(graph(63, honest + attack, verified=[0, 1, 2, 3]))
    assert 0 < result.standing[62] <= 1 / 4 + 1e-9  # four seeds, four groups
    assert result.standing[62] < np.median(result.standing[4:12])


def test_identities_with_dust_standing_inflate_nobody() -> None:
    """An agent vouching for 3,000 fresh identities: they get dust, honest scores barely
    move (normalising by "agents with any standing" would have lifted every one)."""
    rng = np.random.default_rng(3)
    n = 300
    honest = [
        behaviour(a, int(b), 80)
        for a in range(n)
        for b in rng.choice(n, 6, replace=False)
        if a != b
    ]
    seeds = list(range(6))
    before = compute(graph(n, honest, verified=seeds))
    dust = [behaviour(n - 1, d, 100) for d in range(n, n + 3000)]
    after = compute(graph(n + 3000, honest + dust, verified=seeds))
    change = after.score[6 : n - 1] - before.score[6 : n - 1]
    assert np.abs(change).mean() < 0.5 and change.max() < 0.5
    assert after.score[n:].max() < np.median(after.score[6:n])


def test_behaviour_moves_the_score_with_confidence() -> None:
    edges = [behaviour(0, 2, 100), behaviour(1, 2, 100), behaviour(0, 3, 10), behaviour(1, 3, 10)]
    result = compute(graph(4, edges, verified=[0, 1]))
    assert result.behaviour.confidence[2] > 0.5
    assert result.behaviour.adjusted[2] > 50 > result.behaviour.adjusted[3]
    assert result.score[2] > result.score[3] > 0


def test_top_contributors_rank_who_passed_the_most() -> None:
    edges = [behaviour(0, 2, 100), behaviour(1, 2, 20), behaviour(0, 1, 100)]
    result = compute(graph(3, edges, verified=[0]))
    assert result.contributor[2].tolist()[:2] == [0, 1]
    assert result.contribution[2, 0] > result.contribution[2, 1] > 0
    assert result.contributor[0].tolist() == [-1, -1, -1]


def test_power_iteration_converges_on_a_cycle() -> None:
    edges = [behaviour(i, (i + 1) % 20, 100) for i in range(20)]
    result = compute(graph(20, edges, verified=[0]))
    assert result.iterations < 200
    assert result.reachable[:8].all()
    # Trust decays with distance from the seed around the cycle.
    assert all(result.standing[i] >= result.standing[i + 1] for i in range(1, 19))
    assert result.standing[1] > result.standing[19]
