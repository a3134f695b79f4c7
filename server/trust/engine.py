"""The trust computation: pure numpy/scipy over arrays, no I/O.

Model (EigenTrust / personalised PageRank):

* Nodes are all agents; an edge i->j exists for each pair with an active claim
  by i about j. Its local trust is the mean of the pair's claim weights:
  behaviour score/100, identity 1, capability true 1, capability false 0.
  Negative opinions therefore never *push* trust around (a ring cannot harm an
  honest agent); they only withhold it, and they count against the subject in
  capability-level trust, weighted by the attester's own score.
* Each attester's outgoing local trust is normalised to sum to 1, so an
  attester distributes its own standing and cannot mint more by claiming more.
* Trust t is the fixed point of t = d*C^Tt + (1-d)*p, where p is uniform over
  verified agents (the seeds) and attesters with nothing positive to say hand
  their share back to p. Power iteration to an L1 tolerance.
* Fallback with no verified agent: no seeds, so nobody has standing and every
  score stays at the baseline — trust is anchored in verification only, so
  an unverified deployment cannot be captured by whoever registers most agents.
* Agents not reachable from a seed along positive edges end with t = 0
  exactly, which is why a ring of fresh agents rating each other gains nothing.

Score mapping (0-100): with n_s agents holding standing (t > 0), relative
standing r = n_s*t (1 = the average share). score = 50 + 10*log2(r), clipped
to [0, 100] and rounded to 0.01; t = 0 maps to the baseline 0. So an average
agent scores 50, twice the average share 60, 32x the average 100.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

KIND_CAPABILITY = 0
KIND_IDENTITY = 1
KIND_BEHAVIOUR = 2

BASELINE_SCORE = 0.0
AVERAGE_SCORE = 50.0
POINTS_PER_DOUBLING = 10.0

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TrustGraph:
    """Active claims as parallel arrays; agent and capability indexes are positions
    in the caller's id lists."""

    agents: int
    capabilities: int
    verified: BoolArray  # (agents,)
    attester: IntArray  # (claims,)
    subject: IntArray
    kind: npt.NDArray[np.int8]
    value: FloatArray  # behaviour score 0-100; capability 1/0; identity 1
    capability: IntArray  # -1 unless kind is capability


@dataclass(frozen=True)
class TrustParameters:
    damping: float = 0.85
    tolerance: float = 1e-10
    max_iterations: int = 200
    verify_threshold: float = 150.0


@dataclass(frozen=True)
class CapabilityTally:
    """One row per (subject, capability) with any active capability claim."""

    subject: IntArray
    capability: IntArray
    positive: IntArray
    negative: IntArray
    support: FloatArray
    verified: BoolArray


@dataclass(frozen=True)
class TrustResult:
    share: FloatArray  # t, sums to 1 over agents with standing (or all zeros)
    score: FloatArray  # 0-100
    iterations: int
    seeds: int
    behaviour_average: FloatArray
    behaviour_claims: IntArray
    distinct_attesters: IntArray
    component_size: IntArray
    component_seeded: BoolArray
    reachable: BoolArray
    touched: BoolArray  # any active claim by or about the agent
    capabilities: CapabilityTally


def flow_weights(graph: TrustGraph) -> FloatArray:
    weights = np.ones(graph.value.shape, dtype=np.float64)
    behaviour = graph.kind == KIND_BEHAVIOUR
    weights[behaviour] = graph.value[behaviour] / 100.0
    capability = graph.kind == KIND_CAPABILITY
    weights[capability] = (graph.value[capability] > 0).astype(np.float64)
    return weights


def local_trust(graph: TrustGraph) -> sparse.csr_array:
    """Row-stochastic matrix of mean pair weights; rows of pure-zero opinion stay empty."""
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
    row_sums = np.asarray(mean.sum(axis=1)).ravel()
    inverse = np.divide(1.0, row_sums, out=np.zeros_like(row_sums), where=row_sums > 0)
    return sparse.csr_array(sparse.diags_array(inverse) @ mean)


def propagate(
    matrix: sparse.csr_array, verified: BoolArray, params: TrustParameters
) -> tuple[FloatArray, int]:
    n = matrix.shape[0]
    seeds = int(verified.sum())
    if seeds == 0:
        return np.zeros(n), 0
    teleport = verified.astype(np.float64) / seeds
    transposed = sparse.csr_array(matrix.T)
    dangling = np.asarray(matrix.sum(axis=1)).ravel() == 0
    trust = teleport.copy()
    iterations = 0
    for iterations in range(1, params.max_iterations + 1):  # noqa: B007 - reported
        lost = trust[dangling].sum()
        following = params.damping * (transposed @ trust + lost * teleport)
        following += (1.0 - params.damping) * teleport
        delta = np.abs(following - trust).sum()
        trust = following
        if delta < params.tolerance:
            break
    return trust / trust.sum(), iterations


def to_scores(share: FloatArray) -> FloatArray:
    standing = share > 0
    scores = np.full(share.shape, BASELINE_SCORE)
    count = int(standing.sum())
    if count:
        relative = share[standing] * count
        mapped = AVERAGE_SCORE + POINTS_PER_DOUBLING * np.log2(relative)
        scores[standing] = np.clip(mapped, 0.0, 100.0)
    return np.round(scores, 2)


def _capability_tally(graph: TrustGraph, score: FloatArray, threshold: float) -> CapabilityTally:
    rows = graph.kind == KIND_CAPABILITY
    subject, capability = graph.subject[rows], graph.capability[rows]
    positive = graph.value[rows] > 0
    sign = np.where(positive, 1.0, -1.0)
    keys = subject * max(graph.capabilities, 1) + capability
    unique, inverse = np.unique(keys, return_inverse=True)
    size = unique.shape[0]
    support = np.bincount(inverse, weights=sign * score[graph.attester[rows]], minlength=size)
    positives = np.bincount(inverse, weights=positive, minlength=size).astype(np.int64)
    negatives = np.bincount(inverse, weights=~positive, minlength=size).astype(np.int64)
    rounded_support: FloatArray = np.round(support, 2).astype(np.float64)
    width = max(graph.capabilities, 1)
    return CapabilityTally(
        subject=(unique // width).astype(np.int64),
        capability=(unique % width).astype(np.int64),
        positive=positives,
        negative=negatives,
        support=rounded_support,
        verified=rounded_support >= threshold,
    )


def compute(graph: TrustGraph, params: TrustParameters | None = None) -> TrustResult:
    params = params or TrustParameters()
    n = graph.agents
    matrix = local_trust(graph)
    share, iterations = propagate(matrix, graph.verified, params)
    score = to_scores(share)

    behaviour = graph.kind == KIND_BEHAVIOUR
    weight = score[graph.attester[behaviour]]
    weighted = np.bincount(
        graph.subject[behaviour], weights=weight * graph.value[behaviour], minlength=n
    )
    total = np.bincount(graph.subject[behaviour], weights=weight, minlength=n)
    average = np.divide(weighted, total, out=np.zeros(n), where=total > 0)
    behaviour_average: FloatArray = np.round(average, 2).astype(np.float64)
    behaviour_claims = np.bincount(graph.subject[behaviour], minlength=n).astype(np.int64)

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
    return TrustResult(
        share=share,
        score=score,
        iterations=iterations,
        seeds=int(graph.verified.sum()),
        behaviour_average=behaviour_average,
        behaviour_claims=behaviour_claims,
        distinct_attesters=distinct_attesters,
        component_size=component_size,
        component_seeded=component_seeded,
        reachable=share > 0,
        touched=touched,
        capabilities=_capability_tally(graph, score, params.verify_threshold),
    )
