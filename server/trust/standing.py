"""Standing: how much of the seeds' trust reaches each agent, capped per seed group.

Each seed holds one unit and passes it along positive claims (personalised PageRank,
one column per seed group). A group's holdings are divided by what its seeds pass on,
so a column reads "per unit this group's seeds hand out", and an idle seed joining a
group changes nobody's share. One cap c, the same for every group, bounds what any
group confers on one agent: c is the median over groups of each group's mass-weighted
quantile holding (the holding above which `cap_quantile` of its mass sits; a low
quantile lets agents reached from many groups fill many shares). Mass-weighted, so
identities holding dust do not move it; a median over ~32 groups, so a seed that pours
its unit into a few sybils moves one of the values whose median is taken. Standing
r = mean over groups of min(holding, c) / c: one group (a compromised seed and all it
feeds) confers at most 1/groups, and full standing takes many independent groups.
Seeds hold r = 1.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy import sparse

from server.trust.graph import BoolArray, FloatArray, IntArray, TrustGraph

POINTS_PER_HALVING = 5.0
WORKERS = min(os.cpu_count() or 1, 4)


@dataclass(frozen=True)
class Standing:
    mass: FloatArray  # (agents, groups): raw propagated mass, seed units
    share: FloatArray  # (agents, groups): min(mass per seed, cap) / cap, 0-1
    standing: FloatArray  # r, 0-1
    groups: int  # non-empty groups
    cap: float
    iterations: int

    @property
    def per_group(self) -> FloatArray:
        """Each group's part of r (rows sum to r for non-seeds)."""
        if self.groups == 0:
            return self.share
        return np.asarray(self.share / self.groups, dtype=np.float64)


class RowBlocks:
    """A CSR matrix times a dense one, its rows cut into blocks of equal nonzeros and
    multiplied on several threads (scipy releases the GIL in the product). Each output
    row is computed as in one product, so the result is bit for bit the same; the
    propagation's 30 products are most of a recomputation's time at 10M claims."""

    def __init__(self, matrix: sparse.csr_array, workers: int) -> None:
        cuts = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, workers + 1)[1:-1])
        self.bounds = sorted({0, matrix.shape[0], *(int(c) for c in cuts)})
        self.blocks = [sparse.csr_array(matrix[lo:hi]) for lo, hi in pairwise(self.bounds)]

    def times(self, dense: np.ndarray, pool: ThreadPoolExecutor) -> np.ndarray:
        out = np.empty((self.bounds[-1], dense.shape[1]), dtype=dense.dtype)

        def run(index: int) -> None:
            out[self.bounds[index] : self.bounds[index + 1]] = self.blocks[index] @ dense

        list(pool.map(run, range(len(self.blocks))))
        return out


def group_of(graph: TrustGraph, groups: int) -> IntArray:
    if graph.group is not None:
        return np.asarray(graph.group, dtype=np.int64) % groups
    return np.arange(graph.agents, dtype=np.int64) % groups


def propagate(
    matrix: sparse.csr_array,
    verified: BoolArray,
    column: IntArray,
    groups: int,
    damping: float,
    tolerance: float,
    max_iterations: int,
) -> tuple[FloatArray, int]:
    """Per-group standing mass X (agents x groups), one unit per seed.

    A seed passes on its own unit only, never what others sent it (what one seed can
    confer stays within its group, and so within that group's cap). So the seeds'
    outflow is a constant term, and only non-seed rows are iterated. float32 halves
    the memory traffic of the sparse products, which dominate at 1M claims."""
    n = matrix.shape[0]
    seeds = np.flatnonzero(verified)
    if seeds.size == 0:
        return np.zeros((n, groups)), 0
    teleport = np.zeros((n, groups), dtype=np.float32)
    teleport[seeds, column[seeds]] = 1.0
    from_seeds = sparse.csr_array(matrix[seeds].T.astype(np.float32))
    keep = np.ones(n, dtype=np.float32)
    keep[seeds] = 0.0
    from_others = RowBlocks(
        sparse.csr_array((sparse.diags_array(keep) @ matrix).T.astype(np.float32)), WORKERS
    )
    constant = damping * (from_seeds @ teleport[seeds]) + (1.0 - damping) * teleport
    mass = teleport.copy()
    iterations = 0
    scale = float(seeds.size)
    with ThreadPoolExecutor(WORKERS) as pool:
        for iterations in range(1, max_iterations + 1):  # noqa: B007 - reported
            following = from_others.times(mass, pool)
            following *= damping
            following += constant
            mass, following = following, mass
            following -= mass
            if float(np.abs(following).sum()) / scale < tolerance:
                break
    return mass.astype(np.float64), iterations


def common_cap(per_seed: FloatArray, verified: BoolArray, quantile: float) -> float:
    """Median over groups of each group's mass-weighted `quantile` holding (non-seeds):
    mass-weighted, so identities holding dust do not move it."""
    held = per_seed[~verified]
    medians = []
    for group in range(held.shape[1]):
        column = held[:, group]
        column = np.sort(column[column > 0])[::-1]
        if column.size == 0:
            continue
        index = int(np.searchsorted(np.cumsum(column), column.sum() * (1.0 - quantile)))
        medians.append(column[min(index, column.size - 1)])
    return float(np.median(medians)) if medians else 0.0


def standing(
    matrix: sparse.csr_array,
    graph: TrustGraph,
    groups: int,
    damping: float,
    tolerance: float,
    max_iterations: int,
    cap_quantile: float,
) -> Standing:
    column = group_of(graph, groups)
    mass, iterations = propagate(
        matrix, graph.verified, column, groups, damping, tolerance, max_iterations
    )
    # What the group's seeds pass on, not how many they are: an idle seed joining a
    # group changes nobody's share of it.
    outflow = np.asarray(matrix.sum(axis=1)).ravel()
    seeds = np.flatnonzero(graph.verified)
    passed = np.bincount(column[seeds], weights=outflow[seeds], minlength=groups)
    present = passed > 0
    n = graph.agents
    if not present.any():
        empty = np.zeros((n, 0))
        r = graph.verified.astype(np.float64)
        return Standing(empty, empty, r, 0, 0.0, iterations)
    per_seed = mass[:, present] / passed[present]
    cap = common_cap(per_seed, graph.verified, cap_quantile)
    share = np.minimum(per_seed, cap) / cap if cap > 0 else np.zeros_like(per_seed)
    r = share.mean(axis=1)
    r[graph.verified] = 1.0
    share[graph.verified] = 0.0
    active = seeds[present[column[seeds]]]
    share[active, np.cumsum(present)[column[active]] - 1] = 1.0
    return Standing(mass[:, present], share, r, int(present.sum()), cap, iterations)


def to_standing_scores(standing: FloatArray) -> FloatArray:
    """100 + 5 log2(r), clipped to 0-100: each halving of standing costs 5 points."""
    scores = np.zeros(standing.shape)
    held = standing > 0
    mapped = 100.0 + POINTS_PER_HALVING * np.log2(standing[held])
    scores[held] = np.clip(mapped, 0.0, 100.0)
    return scores
