"""The trust computation: pure numpy/scipy over arrays, no I/O.

Model (documented for clients on the Reputation message; `make bench-trust-attacks`
shows what it withstands on four shapes of honest graph):

* Identity is not trust. Seeds are the agents an operator verified; a proven domain
  says who an agent is and confers nothing. All standing flows from the seeds.
* F is the flow matrix. An edge i->j carries the mean weight of i's active claims
  about j (behaviour score/100, identity 1, capability true 1, false 0); a pair
  vouching for each other carries `reciprocal_weight` of it each way. Row i is divided
  by max(sum of its weights, attester_budget): an attester spreads one budget over
  everyone it vouches for, and a lone claim passes a fifth of it, never all.
* Standing (server/trust/standing.py): per seed group, capped by one cap that no seed
  can move; r in [0, 1], S = 100 + 5 log2(r).
* Behaviour (server/trust/behaviour.py): the weighted interquartile mean of behaviour
  scores, each rater weighing min(r / r_floor, 1)^2 (at most a typical rater; standing
  split over many identities weighs less together than in one) and each seed group at
  most one such rater about one subject; confidence = W / (W + 1), W in typical
  raters; B = 50 + confidence * (mean - 50).
* trust_score = sqrt(S * B). An agent with neither a standing score above 0 (standing
  of at least 2^-20 of full) nor a behaviour confidence of 0.0001 is *unrated* (score
  0, `rated` false), which says "no evidence", not "bad".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from server.trust.behaviour import (
    BehaviourTally,
    CapabilityTally,
    behaviour,
    capability_tally,
    heaviest,
    rater_weights,
    typical_standing,
)
from server.trust.explain import Explanation, explain
from server.trust.graph import (
    KIND_BEHAVIOUR,
    KIND_CAPABILITY,
    KIND_IDENTITY,
    BoolArray,
    FloatArray,
    IntArray,
    TrustGraph,
)
from server.trust.pairs import Pairs, pairs_of
from server.trust.standing import standing, to_standing_scores

__all__ = [
    "KIND_BEHAVIOUR",
    "KIND_CAPABILITY",
    "KIND_IDENTITY",
    "TrustGraph",
    "TrustParameters",
    "TrustResult",
    "compute",
    "to_standing_scores",
]


@dataclass(frozen=True)
class TrustParameters:
    damping: float = 0.85
    tolerance: float = 1e-6
    max_iterations: int = 30
    verify_threshold: float = 2.0  # net support, in typical raters
    verify_groups: int = 3  # independent seed groups a verified capability needs
    seed_groups: int = 32
    cap_quantile: float = 0.25
    rater_quantile: float = 0.1
    attester_budget: float = 5.0
    reciprocal_weight: float = 0.25
    confidence_half: float = 1.0  # in typical raters
    top_contributors: int = 3
    standing_weight: float = 0.5  # trust = S^w * B^(1-w)


@dataclass(frozen=True)
class TrustResult:
    standing: FloatArray  # r in [0, 1]
    standing_score: FloatArray  # S, 0-100
    score: FloatArray  # trust_score, 0-100
    iterations: int
    seeds: int
    groups: int  # non-empty seed groups
    rater_floor: float  # standing at which a rater weighs one
    behaviour: BehaviourTally
    distinct_attesters: IntArray
    component_size: IntArray
    component_seeded: BoolArray
    reachable: BoolArray
    touched: BoolArray  # any active claim by or about the agent
    capabilities: CapabilityTally
    contributor: IntArray  # (agents, top_contributors), -1 where none
    contribution: FloatArray  # the matching share of the agent's inflow, 0-1
    explanation: Explanation

    @property
    def behaviour_average(self) -> FloatArray:
        return self.behaviour.average

    @property
    def behaviour_claims(self) -> IntArray:
        return self.behaviour.claims

    @property
    def rated(self) -> BoolArray:
        return self.explanation.rated


def flow_weights(graph: TrustGraph) -> FloatArray:
    weights = np.ones(graph.value.shape, dtype=np.float64)
    is_behaviour = graph.kind == KIND_BEHAVIOUR
    weights[is_behaviour] = graph.value[is_behaviour] / 100.0
    capability = graph.kind == KIND_CAPABILITY
    weights[capability] = (graph.value[capability] > 0).astype(np.float64)
    return weights


def flow_matrix(
    graph: TrustGraph, pairs: Pairs, budget: float, reciprocal: float
) -> sparse.csr_array:
    """Mean pair weights, each row divided by max(row sum, budget)."""
    mean = pairs.matrix(pairs.sums(flow_weights(graph)) / pairs.counts())
    mean.eliminate_zeros()
    mutual = mean.multiply(mean.T.astype(bool)).astype(bool)
    mean = sparse.csr_array(mean - mean.multiply(mutual) * (1.0 - reciprocal))
    row_sums = np.asarray(mean.sum(axis=1)).ravel()
    return sparse.csr_array(sparse.diags_array(1.0 / np.maximum(row_sums, budget)) @ mean)


def top_contributors(
    matrix: sparse.csr_array, weight: FloatArray, k: int
) -> tuple[IntArray, FloatArray]:
    """The k attesters passing the most standing to each agent, and their share of its inflow."""
    n = matrix.shape[0]
    inflow = sparse.coo_array(sparse.diags_array(weight) @ matrix)
    amount = np.maximum(inflow.data, 0.0)
    contributor, passed = heaviest(
        inflow.row.astype(np.int64), inflow.col.astype(np.int64), amount, n, k
    )
    totals = np.bincount(inflow.col, weights=amount, minlength=n)[:, None]
    share = np.divide(passed, totals, out=np.zeros_like(passed), where=totals > 0)
    rounded: FloatArray = np.round(share, 4).astype(np.float64)
    return contributor, rounded


def compute(graph: TrustGraph, params: TrustParameters | None = None) -> TrustResult:
    params = params or TrustParameters()
    n = graph.agents
    pairs = pairs_of(graph)
    matrix = flow_matrix(graph, pairs, params.attester_budget, params.reciprocal_weight)
    held = standing(
        matrix,
        graph,
        params.seed_groups,
        params.damping,
        params.tolerance,
        params.max_iterations,
        params.cap_quantile,
    )
    standing_score = to_standing_scores(held.standing)
    typical = typical_standing(held.standing, graph.verified, params.rater_quantile)
    weights = rater_weights(held.share, held.standing, typical)
    tally = behaviour(
        graph,
        pairs,
        weights,
        typical,
        params.confidence_half,
        params.reciprocal_weight,
        params.top_contributors,
    )
    weight = params.standing_weight
    score: FloatArray = np.round(
        standing_score**weight * tally.adjusted ** (1.0 - weight), 2
    ).astype(np.float64)

    distinct_attesters = np.bincount(pairs.subject, minlength=n).astype(np.int64)
    linked = pairs.matrix(np.ones(pairs.size))
    _, labels = csgraph.connected_components(linked, directed=True, connection="weak")
    del linked
    component_size = np.bincount(labels)[labels].astype(np.int64)
    component_seeded = np.bincount(labels, weights=graph.verified)[labels] > 0
    touched = np.zeros(n, dtype=bool)
    touched[graph.attester] = True
    touched[graph.subject] = True
    passed = held.mass.sum(axis=1) if held.mass.size else np.zeros(n)
    passed[graph.verified] = 1.0  # a seed passes on its own unit only
    contributor, contribution = top_contributors(matrix, passed, params.top_contributors)
    return TrustResult(
        standing=held.standing,
        standing_score=np.round(standing_score, 2),
        score=score,
        iterations=held.iterations,
        seeds=int(graph.verified.sum()),
        groups=held.groups,
        rater_floor=typical,
        behaviour=tally,
        distinct_attesters=distinct_attesters,
        component_size=component_size,
        component_seeded=component_seeded,
        reachable=held.standing > 0,
        touched=touched,
        capabilities=capability_tally(
            graph, weights, typical, params.verify_threshold, params.verify_groups
        ),
        contributor=contributor,
        contribution=contribution,
        explanation=explain(held, tally, graph.verified, params.top_contributors),
    )
