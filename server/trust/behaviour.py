"""Behaviour and capability tallies, weighted by what a rater's standing lets it say.

A rater weighs min(r / r_floor, 1)^2, r_floor being a low standing-weighted quantile of
standing: every rater with ordinary standing weighs one, nobody more, so a coalition of
k agents moves a score no more than k independent honest raters could, however well
placed they are. Below the floor the weight falls with the square of standing, so
standing split over many identities weighs less together than it did in one: an agent
that hands its budget to 5,000 fresh identities gets a crowd that weighs next to
nothing (linearly, the crowd weighed what its feeder's whole standing was worth in
raters, up to one per seed group it draws on). A rater's weight
is split over the seed groups its standing comes from, and about one subject the raters
of one group together weigh at most one: a crowd drawing its standing from one seed (a
compromised seed's sybils) counts as one rater.
"""

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
from server.trust.pairs import Pairs

NEUTRAL_BEHAVIOUR = 50.0
CHUNK = 200_000


@dataclass(frozen=True)
class BehaviourTally:
    average: FloatArray  # weighted interquartile mean of behaviour scores, 0 without weight
    claims: IntArray  # active behaviour claims about the agent
    weight: FloatArray  # total capped rater weight, in typical raters (1 = one r_typ)
    confidence: FloatArray  # weight / (weight + half), 0-1
    adjusted: FloatArray  # 50 + confidence * (average - 50)
    attesters_with_standing: IntArray
    rater: IntArray  # (agents, k) heaviest raters, -1 where none
    rater_weight: FloatArray  # (agents, k) their weight, in typical raters


@dataclass(frozen=True)
class CapabilityTally:
    """One row per (subject, capability) with any active capability claim."""

    subject: IntArray
    capability: IntArray
    positive: IntArray
    negative: IntArray
    support: FloatArray  # net capped weight for, in typical raters
    groups: IntArray  # seed groups whose net weight is for
    verified: BoolArray


def rater_weights(share: FloatArray, standing: FloatArray, floor: float) -> FloatArray:
    """(agents, groups): min(r / r_floor, 1)^2 split over the groups r comes from."""
    total = share.sum(axis=1, keepdims=True)
    split = np.divide(share, total, out=np.zeros_like(share), where=total > 0)
    weight = np.minimum(standing / floor, 1.0) ** 2
    return np.asarray(split * weight[:, None], dtype=np.float64)


def typical_standing(standing: FloatArray, verified: BoolArray, quantile: float) -> float:
    """The standing-weighted `quantile` of non-seeds' standing: identities holding dust
    weigh next to nothing in it, so creating them cannot lower it (nor raise anyone's
    weight)."""
    held = np.sort(standing[(standing > 0) & ~verified])
    if held.size == 0:
        return 1.0
    cumulative = np.cumsum(held)
    index = int(np.searchsorted(cumulative, cumulative[-1] * quantile))
    return float(held[min(index, held.size - 1)])


def _pairs(
    graph: TrustGraph, pairs: Pairs, rows: BoolArray, reciprocal: float
) -> tuple[sparse.csr_array, sparse.csr_array, IntArray]:
    """Mean value per (attester, subject) pair and the pair's weight (mutual pairs weigh
    `reciprocal` each way, as in the flow of standing); claims per subject."""
    n = graph.agents
    counts = pairs.counts(rows)
    present = counts > 0
    claims = np.bincount(pairs.subject[present], minlength=n).astype(np.int64)
    sums = pairs.sums(graph.value[rows], rows)
    mean = pairs.matrix(sums[present] / counts[present], present)
    indicator = pairs.matrix(np.ones(int(present.sum())), present)
    del counts, sums, present
    mutual = indicator.multiply(indicator.T)
    indicator = sparse.csr_array(indicator - mutual * (1.0 - reciprocal))
    indicator.sort_indices()
    mean.sort_indices()
    return mean, indicator, claims


def behaviour(
    graph: TrustGraph,
    pairs: Pairs,
    weights: FloatArray,
    typical: float,
    half: float,
    reciprocal: float,
    top: int,
) -> BehaviourTally:
    n = graph.agents
    mean, indicator, claims = _pairs(graph, pairs, graph.kind == KIND_BEHAVIOUR, reciprocal)
    weight = np.zeros(n)
    average = np.zeros(n)
    held = np.zeros(n, dtype=np.int64)
    rater = np.full((n, top), -1, dtype=np.int64)
    rater_weight = np.zeros((n, top))
    if weights.shape[1] and mean.nnz:
        totals = np.asarray(indicator.T @ weights)
        factor = np.divide(1.0, totals, out=np.ones_like(totals), where=totals > 1.0)
        totals *= factor  # in place: (agents, groups) is large at scale
        weight = totals.sum(axis=1)
        del totals
        claim_weight = _claim_weights(mean, indicator, weights, factor)
        average = _central_mean(mean, claim_weight, n)
        has_standing = weights.sum(axis=1) > 0
        held = np.bincount(mean.indices, weights=has_standing[_row_of(mean)], minlength=n).astype(
            np.int64
        )
        rater, rater_weight = heaviest(_row_of(mean), mean.indices, claim_weight, n, top)
    confidence = weight / (weight + half)
    adjusted = NEUTRAL_BEHAVIOUR + confidence * (average - NEUTRAL_BEHAVIOUR)
    return BehaviourTally(
        average=np.round(average, 2),
        claims=claims,
        weight=weight,
        confidence=np.round(confidence, 4),
        adjusted=adjusted,
        attesters_with_standing=held,
        rater=rater,
        rater_weight=np.round(rater_weight, 4),
    )


def _claim_weights(
    mean: sparse.csr_array, indicator: sparse.csr_array, weights: FloatArray, factor: FloatArray
) -> FloatArray:
    attester = _row_of(mean)
    subject = mean.indices.astype(np.int64)
    weight = np.zeros(mean.data.shape)
    for start in range(0, weight.size, CHUNK):
        rows = slice(start, start + CHUNK)
        weight[rows] = np.einsum("ij,ij->i", weights[attester[rows]], factor[subject[rows]])
    return np.asarray(weight * indicator.data, dtype=np.float64)


def _central_mean(mean: sparse.csr_array, weight: FloatArray, n: int) -> FloatArray:
    """Per subject, the weighted mean of the middle half of its ratings (the interquartile
    mean): as robust as the median to a minority at either end, and continuous in the
    weights, so two equal raters average instead of the order of rounding picking one."""
    subject, value = mean.indices.astype(np.int64), mean.data
    order = np.lexsort((value, subject))
    subject, value, weight = subject[order], value[order], weight[order]
    del order
    totals = np.bincount(subject, weights=weight, minlength=n)
    after = np.cumsum(weight)
    starts = np.searchsorted(subject, np.arange(n), side="left")
    after -= np.concatenate([[0.0], after])[starts][subject]
    before = after - weight
    # In place from here: one claim-sized array each, not one per step.
    total = totals[subject]
    overlap = total * 0.75
    np.minimum(after, overlap, out=overlap)
    del after
    total *= 0.25
    np.maximum(before, total, out=total)
    del before
    overlap -= total
    del total
    np.clip(overlap, 0.0, None, out=overlap)
    overlap *= value
    central = np.bincount(subject, weights=overlap, minlength=n)
    result: FloatArray = np.divide(central, 0.5 * totals, out=np.zeros(n), where=totals > 0)
    return result


def heaviest(
    attester: IntArray, subject: IntArray, amount: FloatArray, n: int, k: int
) -> tuple[IntArray, FloatArray]:
    """Per subject, the k attesters with the largest amount (ties by attester index)."""
    who = np.full((n, k), -1, dtype=np.int64)
    how = np.zeros((n, k))
    keep = amount > 0
    attester, subject, amount = attester[keep], subject[keep], amount[keep]
    if amount.size == 0:
        return who, how
    order = np.lexsort((attester, -amount, subject))
    attester, subject, amount = attester[order], subject[order], amount[order]
    rank = np.arange(subject.size) - np.searchsorted(subject, subject, side="left")
    top = rank < k
    who[subject[top], rank[top]] = attester[top]
    how[subject[top], rank[top]] = amount[top]
    return who, how


def _row_of(matrix: sparse.csr_array) -> IntArray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)).astype(np.int64)


def capability_tally(
    graph: TrustGraph,
    weights: FloatArray,
    typical: float,
    threshold: float,
    min_groups: int,
) -> CapabilityTally:
    """Verified when the net capped weight for it reaches `threshold` typical raters and
    comes from at least `min_groups` seed groups (fewer if fewer exist): a handful of
    fresh identities weigh nothing, and one seed's following is one group."""
    rows = graph.kind == KIND_CAPABILITY
    subject, capability = graph.subject[rows], graph.capability[rows]
    positive = graph.value[rows] > 0
    width = max(graph.capabilities, 1)
    keys = subject * width + capability
    unique, inverse = np.unique(keys, return_inverse=True)
    size = unique.shape[0]
    groups = weights.shape[1]
    net = np.zeros((size, groups), dtype=np.float32)
    attester = graph.attester[rows]
    narrow = weights.astype(np.float32)  # once, not per sign: (agents, groups) is large
    for sign in (True, False):
        chosen = np.flatnonzero(positive == sign)
        pick = sparse.csr_array(
            (np.ones(chosen.size, dtype=np.float32), (inverse[chosen], attester[chosen])),
            shape=(size, graph.agents),
        )
        summed = np.asarray(pick @ narrow)
        np.minimum(summed, 1.0, out=summed)  # in place: no second (rows, groups) copy
        if sign:
            net += summed
        else:
            net -= summed
        del pick, summed
    del narrow
    support = net.sum(axis=1)
    backing = (net > 0).sum(axis=1).astype(np.int64)
    rounded: FloatArray = np.round(support, 2).astype(np.float64)
    needed = max(1, min(min_groups, groups))
    return CapabilityTally(
        subject=(unique // width).astype(np.int64),
        capability=(unique % width).astype(np.int64),
        positive=np.bincount(inverse, weights=positive, minlength=size).astype(np.int64),
        negative=np.bincount(inverse, weights=~positive, minlength=size).astype(np.int64),
        support=rounded,
        groups=backing,
        verified=(rounded >= threshold) & (backing >= needed),
    )
