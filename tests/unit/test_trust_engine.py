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
from server.trust.groups import seed_groups


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


def test_capability_support_counts_independent_groups() -> None:
    """Three seeds in three groups verify a capability; the same three in one group,
    or a crowd of fresh identities, do not."""
    claims = [(s, 3, KIND_CAPABILITY, 1.0, 1) for s in range(3)]
    spread = graph(4, claims, verified=[0, 1, 2])
    result = compute(spread, TrustParameters(verify_threshold=2.0, verify_groups=3, seed_groups=4))
    tally = result.capabilities
    assert tally.subject.tolist() == [3] and tally.capability.tolist() == [1]
    assert tally.positive[0] == 3 and tally.groups[0] == 3 and tally.verified[0]
    assert abs(tally.support[0] - 3.0) < 0.01  # each seed weighs one rater

    together = TrustGraph(**{**vars(spread), "group": np.zeros(4, dtype=np.int64)})
    assert not compute(together, TrustParameters(seed_groups=4)).capabilities.verified[0]

    crowd = [(c, 3, KIND_CAPABILITY, 1.0, 1) for c in range(4, 204)] + claims[:1]
    forged = compute(graph(204, crowd, verified=[0, 1, 2]), TrustParameters(seed_groups=4))
    assert forged.capabilities.groups[0] == 1 and not forged.capabilities.verified[0]


def test_standing_points_lose_five_per_halving() -> None:
    scores = to_standing_scores(np.array([1.0, 0.5, 1 / 32, 0.0, 1e-9]))
    assert scores.tolist() == [100.0, 95.0, 75.0, 0.0, 0.0]


def test_an_idle_seed_joining_moves_no_score() -> None:
    rng = np.random.default_rng(5)
    edges = [behaviour(a, int(b), 80) for a in range(200) for b in rng.choice(200, 4) if a != b]
    before = compute(graph(201, edges, verified=list(range(8))))
    after = compute(graph(201, edges, verified=[*range(8), 200]))
    assert np.abs(after.score[8:200] - before.score[8:200]).max() < 1e-9


def test_no_rater_outweighs_an_ordinary_one() -> None:
    """Two raters with full standing (seeds) against two ordinary ones: equal weight, so
    the behaviour average sits between them rather than at the seeds' word."""
    edges = [behaviour(s, h, 90) for s in range(2) for h in range(2, 12)]
    edges += [
        behaviour(0, 12, 0),
        behaviour(1, 12, 0),
        behaviour(2, 12, 100),
        behaviour(3, 12, 100),
    ]
    result = compute(graph(13, edges, verified=[0, 1]))
    # Each seed group about one subject weighs one rater at most: two groups, weight 2.
    assert abs(result.behaviour.weight[12] - 2.0) < 1e-9
    assert result.behaviour_average[12] == 50.0


def test_unreached_agents_are_unrated_not_bad() -> None:
    ring = [behaviour(3 + i, 3 + (i + 1) % 3, 100) for i in range(3)]
    result = compute(graph(6, [behaviour(0, 1, 90), behaviour(1, 2, 10), *ring], verified=[0]))
    assert result.rated.tolist() == [True, True, True, False, False, False]
    assert result.score[3:].tolist() == [0.0] * 3


def test_standing_too_faint_to_show_reads_unrated_not_zero() -> None:
    """A chain of near-zero ratings leaves its end a trace of standing that no score
    shows: it reads unrated like an agent nobody reached, so 0 always means unrated."""
    edges = [behaviour(0, h, 90) for h in range(1, 9)]
    edges += [behaviour(0, 9, 1), behaviour(9, 10, 1), behaviour(10, 11, 1)]
    result = compute(graph(12, edges, verified=[0]))
    assert result.standing[11] > 0 and result.score[11] == 0.0
    assert not result.rated[11]
    assert result.rated[result.score > 0].all() and not result.rated[result.score == 0].any()


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


def test_a_crowd_fed_by_one_agent_weighs_less_than_that_agent() -> None:
    """One agent with standing spreads its budget over 1,000 fresh identities that all
    rate a target 100: split into dust, its standing must not add up to more raters
    than it is (weighing min(r / r_floor, 1) linearly, the crowd weighed four: one per
    seed group)."""
    honest = [behaviour(s, h, 90) for s in range(4) for h in range(4, 12)]
    feeder, target = 4, 1012
    crowd = range(12, 1012)
    attack = [behaviour(feeder, c, 100) for c in crowd]
    attack += [behaviour(c, target, 100) for c in crowd]
    result = compute(graph(1013, honest + attack, verified=[0, 1, 2, 3]))
    assert result.standing[feeder] >= result.rater_floor  # the feeder weighs one rater
    assert result.behaviour.weight[target] < 0.1
    assert result.behaviour.adjusted[target] < 55.0
    # The feeder rating the target itself is one ordinary rater, the most it can be.
    direct = compute(graph(1013, [*honest, *attack, behaviour(feeder, target, 100)], [0, 1, 2, 3]))
    assert 1.0 <= direct.behaviour.weight[target] < 1.1


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


def test_seed_groups_come_from_a_keyed_hash_of_ids() -> None:
    """An id's group depends on the server's secret, not on the id's order or value alone,
    and never changes as other seeds come and go."""
    ids = [f"agt_{i:04d}" for i in range(400)]
    first = seed_groups(ids, b"one secret", 32)
    assert seed_groups(ids[100:], b"one secret", 32).tolist() == first[100:].tolist()
    other = seed_groups(ids, b"another secret", 32)
    assert (first != other).mean() > 0.8  # a different key deals different groups
    assert np.bincount(first, minlength=32).min() > 0  # and every group gets ids
