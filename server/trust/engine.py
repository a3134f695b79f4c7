"""The trust computation: pure numpy/scipy over arrays, no I/O.

Model (documented for clients on the Reputation message; `make bench-trust-attacks`
shows what it withstands):

* Seeds are the verified agents (by an operator or a proven domain), and all
  standing flows from them. Seeds are dealt round-robin into G groups
  (G = min(seed_groups, seeds)) and standing is propagated per group: an n x G
  matrix X, iterated as X = (1-d) P + d F^T Y, where P puts one unit on each seed
  in its group's column and Y is X with the seeds' rows reset to P: a seed passes
  on its own unit only, never what others sent it, so what it confers stays in
  its group.
* F is the flow matrix. An edge i->j carries the mean weight of i's active claims
  about j (behaviour score/100, identity 1, capability true 1, false 0); a pair
  vouching for each other carries `reciprocal_weight` of it each way (mutual
  praise is the cheapest collusion). Row i is divided by max(sum of its weights,
  attester_budget): an attester spreads one budget over everyone it vouches for,
  and one with few or weak claims passes on *less*, never a concentrated share
  (a lone 1/100 passes 1/100 of one endorsement). The rest is not passed at all.
* Standing r in [0, 1]: per group, what an agent holds is capped at that group's
  mass-weighted median holding c_g (half the group's mass sits in agents holding
  more), then r = sum_g min(X_g, c_g) / sum_g c_g. One seed (or everything
  downstream of it: a compromised seed's sybils) confers at most one group's
  share, 1/G, whatever it does. The caps follow where the seeds' mass goes, so
  identities with dust standing change nothing (they hold no mass), and a fresh
  ring without inbound claims holds exactly 0. Verified agents have r = 1.
* Standing points S = 100 + 10 log2(r) clipped to [0, 100] (0 when r = 0): each
  halving of standing costs 10 points; one group's full share (1/32) is 50.
* Behaviour: the weighted median of active behaviour scores about the agent,
  each attester weighing its own capped per-group standing, with each group's
  total weight about one subject capped at one full attester's (so many sybils
  of one group weigh as one). Confidence = W / (W + confidence_half), W that
  total weight; the adjusted behaviour B = 50 + confidence * (median - 50)
  starts at a neutral 50 and moves as independent evidence accumulates.
* trust_score = sqrt(S * B): no standing means 0 whatever is said about the
  agent; at neutral behaviour the score is sqrt(50 S); good behaviour lifts it,
  bad behaviour drags it toward 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from server.trust.behaviour import BehaviourTally, CapabilityTally, behaviour, capability_tally
from server.trust.graph import (
    KIND_BEHAVIOUR,
    KIND_CAPABILITY,
    KIND_IDENTITY,
    BoolArray,
    FloatArray,
    IntArray,
    TrustGraph,
)

BASELINE_SCORE = 0.0
POINTS_PER_HALVING = 10.0

__all__ = [
    "KIND_BEHAVIOUR",
    "KIND_CAPABILITY",
    "KIND_IDENTITY",
    "TrustGraph",
    "TrustParameters",
    "TrustResult",
    "compute",
]


@dataclass(frozen=True)
class TrustParameters:
    damping: float = 0.85
    tolerance: float = 1e-6
    max_iterations: int = 30
    verify_threshold: float = 150.0
    seed_groups: int = 32
    attester_budget: float = 5.0
    reciprocal_weight: float = 0.25
    confidence_half: float = 0.1
    top_contributors: int = 3


@dataclass(frozen=True)
class TrustResult:
    standing: FloatArray  # r in [0, 1]
    standing_score: FloatArray  # S, 0-100
    score: FloatArray  # trust_score, 0-100
    iterations: int
    seeds: int
    behaviour: BehaviourTally
    distinct_attesters: IntArray
    component_size: IntArray
    component_seeded: BoolArray
    reachable: BoolArray
    touched: BoolArray  # any active claim by or about the agent
    capabilities: CapabilityTally
    contributor: IntArray  # (agents, top_contributors), -1 where none
    contribution: FloatArray  # the matching share of the agent's inflow, 0-1

    @property
    def behaviour_average(self) -> FloatArray:
        return self.behaviour.average

    @property
    def behaviour_claims(self) -> IntArray:
        return self.behaviour.claims


def flow_weights(graph: TrustGraph) -> FloatArray:
    weights = np.ones(graph.value.shape, dtype=np.float64)
    is_behaviour = graph.kind == KIND_BEHAVIOUR
    weights[is_behaviour] = graph.value[is_behaviour] / 100.0
    capability = graph.kind == KIND_CAPABILITY
    weights[capability] = (graph.value[capability] > 0).astype(np.float64)
    return weights


def flow_matrix(graph: TrustGraph, budget: float, reciprocal: float) -> sparse.csr_array:
    """Mean pair weights, each row divided by max(row sum, budget)."""
    n = graph.agents
    shape = (n, n)
    sums = sparse.csr_array((flow_weights(graph), (graph.attester, graph.subject)), shape=shape)
    counts = sparse.csr_array(
        (np.ones(graph.attester.shape, dtype=np.float64), (graph.attester, graph.subject)),
        shape=shape,
    )
    sums.sum_duplicates()
    counts.sum_duplicates()
    mean = sparse.csr_array((sums.data / counts.data, sums.indices, sums.indptr), shape=shape)
    mean.eliminate_zeros()
    # Mutual praise is the cheapest collusion: a pair vouching for each other
    # carries `reciprocal` of the weight each way.
    mutual = mean.multiply(mean.T.astype(bool)).astype(bool)
    mean = sparse.csr_array(mean - mean.multiply(mutual) * (1.0 - reciprocal))
    row_sums = np.asarray(mean.sum(axis=1)).ravel()
    return sparse.csr_array(sparse.diags_array(1.0 / np.maximum(row_sums, budget)) @ mean)


def seed_groups(verified: BoolArray, groups: int) -> tuple[IntArray, int]:
    seeds = np.flatnonzero(verified).astype(np.int64)
    count = min(groups, seeds.size)
    return seeds, count


def propagate(
    matrix: sparse.csr_array, verified: BoolArray, params: TrustParameters
) -> tuple[FloatArray, int]:
    """Per-group standing mass X (agents x groups), one unit per seed.

    A seed passes on its own unit only, never what others sent it (what one seed can
    confer stays within its group, and so within that group's cap). So the seeds'
    outflow is a constant term, and only non-seed rows are iterated. float32 halves
    the memory traffic of the sparse products, which dominate at 1M claims; the walk
    stops after max_iterations hops (what is left beyond them is below
    damping^max_iterations of a seed's unit)."""
    n = matrix.shape[0]
    seeds, groups = seed_groups(verified, params.seed_groups)
    if groups == 0:
        return np.zeros((n, 0)), 0
    teleport = np.zeros((n, groups), dtype=np.float32)
    teleport[seeds, np.arange(seeds.size) % groups] = 1.0
    from_seeds = sparse.csr_array(matrix[seeds].T.astype(np.float32))
    keep = np.ones(n, dtype=np.float32)
    keep[seeds] = 0.0
    from_others = sparse.csr_array((sparse.diags_array(keep) @ matrix).T.astype(np.float32))
    constant = params.damping * (from_seeds @ teleport[seeds]) + (1.0 - params.damping) * teleport
    mass = teleport.copy()
    iterations = 0
    scale = float(seeds.size)
    for iterations in range(1, params.max_iterations + 1):  # noqa: B007 - reported
        following = from_others @ mass
        following *= params.damping
        following += constant
        mass, following = following, mass
        following -= mass
        if float(np.abs(following).sum()) / scale < params.tolerance:
            break
    return mass.astype(np.float64), iterations


def group_caps(mass: FloatArray, verified: BoolArray) -> FloatArray:
    """Each group's mass-weighted median holding over non-seed agents."""
    caps = np.zeros(mass.shape[1])
    held = mass[~verified]
    for group in range(mass.shape[1]):
        column = np.sort(held[:, group])[::-1]
        total = column.sum()
        if total <= 0:
            continue
        index = int(np.searchsorted(np.cumsum(column), total / 2.0))
        caps[group] = column[min(index, column.size - 1)]
    return caps


def capped_standing(mass: FloatArray, caps: FloatArray) -> FloatArray:
    """Per-group holdings capped and scaled so that a full share in every group sums to 1."""
    total = caps.sum()
    if total <= 0:
        return np.zeros_like(mass)
    return np.asarray(np.minimum(mass, caps) / total, dtype=np.float64)


def to_standing_scores(standing: FloatArray) -> FloatArray:
    scores = np.full(standing.shape, BASELINE_SCORE)
    held = standing > 0
    mapped = 100.0 + POINTS_PER_HALVING * np.log2(standing[held])
    scores[held] = np.clip(mapped, 0.0, 100.0)
    return scores


def top_contributors(
    matrix: sparse.csr_array, weight: FloatArray, k: int
) -> tuple[IntArray, FloatArray]:
    """The k attesters passing the most standing to each agent, and their share of its inflow."""
    n = matrix.shape[0]
    inflow = sparse.coo_array(sparse.diags_array(weight) @ matrix)
    keep = inflow.data > 0
    attester, subject, amount = inflow.row[keep], inflow.col[keep], inflow.data[keep]
    contributor = np.full((n, k), -1, dtype=np.int64)
    contribution = np.zeros((n, k))
    if amount.size == 0:
        return contributor, contribution
    order = np.lexsort((attester, -amount, subject))
    attester, subject, amount = attester[order], subject[order], amount[order]
    totals = np.bincount(subject, weights=amount, minlength=n)
    starts = np.searchsorted(subject, subject, side="left")
    rank = np.arange(subject.size) - starts
    top = rank < k
    contributor[subject[top], rank[top]] = attester[top]
    contribution[subject[top], rank[top]] = np.round(amount[top] / totals[subject[top]], 4)
    return contributor, contribution


def compute(graph: TrustGraph, params: TrustParameters | None = None) -> TrustResult:
    params = params or TrustParameters()
    n = graph.agents
    matrix = flow_matrix(graph, params.attester_budget, params.reciprocal_weight)
    mass, iterations = propagate(matrix, graph.verified, params)
    per_group = capped_standing(mass, group_caps(mass, graph.verified))
    standing = per_group.sum(axis=1)
    standing[graph.verified] = 1.0
    standing_score = to_standing_scores(standing)

    tally = behaviour(graph, per_group, params.confidence_half, params.reciprocal_weight)
    score: FloatArray = np.round(np.sqrt(standing_score * tally.adjusted), 2).astype(np.float64)

    pairs = sparse.csr_array(
        (np.ones(graph.attester.shape), (graph.attester, graph.subject)), shape=(n, n)
    )
    pairs.sum_duplicates()
    distinct_attesters = np.bincount(pairs.indices, minlength=n).astype(np.int64)
    _, labels = csgraph.connected_components(pairs, directed=True, connection="weak")
    component_size = np.bincount(labels)[labels].astype(np.int64)
    component_seeded = np.bincount(labels, weights=graph.verified)[labels] > 0
    touched = np.zeros(n, dtype=bool)
    touched[graph.attester] = True
    touched[graph.subject] = True
    passed = mass.sum(axis=1) if mass.size else np.zeros(n)
    passed[graph.verified] = 1.0  # a seed passes on its own unit only
    contributor, contribution = top_contributors(matrix, passed, params.top_contributors)
    return TrustResult(
        standing=standing,
        standing_score=np.round(standing_score, 2),
        score=score,
        iterations=iterations,
        seeds=int(graph.verified.sum()),
        behaviour=tally,
        distinct_attesters=distinct_attesters,
        component_size=component_size,
        component_seeded=component_seeded,
        reachable=standing > 0,
        touched=touched,
        capabilities=capability_tally(graph, score, params.verify_threshold),
        contributor=contributor,
        contribution=contribution,
    )
