"""The claims grouped by (attester, subject) pair, once for every per-pair matrix.

The flow of standing, the behaviour tally and the component count each need the claims
grouped into pairs; at 10M claims sorting them is most of what building those matrices
costs, so it is done once here and each matrix is a bincount over it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from server.trust.graph import BoolArray, FloatArray, IntArray, TrustGraph


@dataclass(frozen=True)
class Pairs:
    agents: int
    attester: IntArray  # per distinct pair, sorted by (attester, subject)
    subject: IntArray
    of_claim: IntArray  # each claim's pair

    @property
    def size(self) -> int:
        return int(self.attester.size)

    def counts(self, rows: BoolArray | None = None) -> IntArray:
        """Claims per pair (only among `rows` when given)."""
        claim = self.of_claim if rows is None else self.of_claim[rows]
        return np.bincount(claim, minlength=self.size).astype(np.int64)

    def sums(self, values: FloatArray, rows: BoolArray | None = None) -> FloatArray:
        """`values` (one per claim, or per chosen row) summed per pair."""
        claim = self.of_claim if rows is None else self.of_claim[rows]
        return np.bincount(claim, weights=values, minlength=self.size).astype(
            np.float64, copy=False
        )

    def matrix(self, data: FloatArray, keep: BoolArray | None = None) -> sparse.csr_array:
        """(agents x agents) CSR with `data` per pair (of the `keep` pairs when given):
        the pairs are already in CSR order, so no sort or duplicate pass is needed."""
        attester, subject = self.attester, self.subject
        if keep is not None:
            attester, subject = attester[keep], subject[keep]
        n = self.agents
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(attester, minlength=n), out=indptr[1:])
        index = np.int32 if max(n, subject.size) < np.iinfo(np.int32).max else np.int64
        return sparse.csr_array((data, subject.astype(index), indptr.astype(index)), shape=(n, n))


def pairs_of(graph: TrustGraph) -> Pairs:
    n = graph.agents
    key = graph.attester.astype(np.int64) * n + graph.subject
    unique, of_claim = np.unique(key, return_inverse=True)
    del key
    return Pairs(n, unique // n, unique % n, of_claim.ravel())
