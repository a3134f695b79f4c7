"""Behaviour and capability tallies, weighted by the attesters' standing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from server.trust.graph import (
    KIND_BEHAVIOUR,
    KIND_CAPABILITY,
    BoolArray,
    FloatArray,
    IntArray,
    TrustGraph,
)

NEUTRAL_BEHAVIOUR = 50.0
CHUNK = 200_000


@dataclass(frozen=True)
class BehaviourTally:
    average: FloatArray  # standing-weighted median of behaviour scores, 0 when unweighted
    claims: IntArray  # active behaviour claims about the agent
    weight: FloatArray  # total capped attester weight (1 = one attester with full standing)
    confidence: FloatArray  # weight / (weight + half), 0-1
    adjusted: FloatArray  # 50 + confidence * (average - 50)
    attesters_with_standing: IntArray


@dataclass(frozen=True)
class CapabilityTally:
    """One row per (subject, capability) with any active capability claim."""

    subject: IntArray
    capability: IntArray
    positive: IntArray
    negative: IntArray
    support: FloatArray
    verified: BoolArray


def behaviour(
    graph: TrustGraph, per_group: FloatArray, half: float, reciprocal: float
) -> BehaviourTally:
    """per_group: each agent's capped standing per seed group (rows sum to its standing).

    About one subject, the attesters of one group together weigh at most what one
    attester with that group's full share weighs, so a crowd drawing its standing
    from one seed counts once."""
    n = graph.agents
    rows = graph.kind == KIND_BEHAVIOUR
    attester, subject, value = graph.attester[rows], graph.subject[rows], graph.value[rows]
    shape = (n, n)
    sums = sparse.csr_array((value, (attester, subject)), shape=shape)
    counts = sparse.csr_array((np.ones(value.shape), (attester, subject)), shape=shape)
    sums.sum_duplicates()
    counts.sum_duplicates()
    claims = np.bincount(counts.indices, minlength=n).astype(np.int64)
    mean = sparse.csr_array((sums.data / counts.data, sums.indices, sums.indptr), shape=shape)
    indicator = sparse.csr_array(
        (np.ones(counts.data.shape), counts.indices, counts.indptr), shape=shape
    )
    # Pairs rating each other weigh `reciprocal` each way, as in the flow of standing.
    mutual = indicator.multiply(indicator.T)
    indicator = sparse.csr_array(indicator - mutual * (1.0 - reciprocal))
    indicator.sort_indices()
    mean.sort_indices()
    weight = np.zeros(n)
    average = np.zeros(n)
    held = np.zeros(n, dtype=np.int64)
    if per_group.shape[1] and counts.nnz:
        limit = per_group.max(axis=0)
        weights = np.asarray(indicator.T @ per_group)
        factor = np.divide(limit, weights, out=np.ones_like(weights), where=weights > limit)
        weight = (weights * factor).sum(axis=1)
        average = _weighted_median(mean, indicator, per_group, factor, n)
        has_standing = per_group.sum(axis=1) > 0
        held = np.bincount(
            counts.indices, weights=has_standing[_row_of(counts)], minlength=n
        ).astype(np.int64)
    confidence = weight / (weight + half)
    adjusted = NEUTRAL_BEHAVIOUR + confidence * (average - NEUTRAL_BEHAVIOUR)
    return BehaviourTally(
        average=np.round(average, 2),
        claims=claims,
        weight=weight,
        confidence=np.round(confidence, 4),
        adjusted=adjusted,
        attesters_with_standing=held,
    )


def _weighted_median(
    mean: sparse.csr_array,
    pair_weight: sparse.csr_array,
    per_group: FloatArray,
    factor: FloatArray,
    n: int,
) -> FloatArray:
    """Per subject, the behaviour score with half the capped attester weight on each side:
    a few raters with standing cannot drag an agent's behaviour far from what most say."""
    attester = _row_of(mean)
    subject, value = mean.indices.astype(np.int64), mean.data
    weight = np.zeros(value.shape)
    for start in range(0, value.size, CHUNK):
        rows = slice(start, start + CHUNK)
        weight[rows] = np.einsum("ij,ij->i", per_group[attester[rows]], factor[subject[rows]])
    weight *= pair_weight.data
    order = np.lexsort((value, subject))
    subject, value, weight = subject[order], value[order], weight[order]
    totals = np.bincount(subject, weights=weight, minlength=n)
    cumulative = np.cumsum(weight)
    before = cumulative - weight
    starts = np.searchsorted(subject, np.arange(n), side="left")
    offset = np.concatenate([[0.0], cumulative])[starts]
    within = before - offset[subject]
    # The first claim (by value) whose cumulative weight reaches half the subject's total.
    crossing = (within + weight >= totals[subject] / 2.0) & (weight > 0)
    median = np.zeros(n)
    first = np.flatnonzero(crossing)
    chosen, index = np.unique(subject[first], return_index=True)
    median[chosen] = value[first[index]]
    return median


def _row_of(matrix: sparse.csr_array) -> IntArray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)).astype(np.int64)


def capability_tally(graph: TrustGraph, score: FloatArray, threshold: float) -> CapabilityTally:
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
