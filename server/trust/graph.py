"""The trust graph the engine reads: active claims as parallel arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

KIND_CAPABILITY = 0
KIND_IDENTITY = 1
KIND_BEHAVIOUR = 2

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class TrustGraph:
    """Agent and capability indexes are positions in the caller's id lists. Claims by or
    about suspended agents are left out by the caller; `verified` holds the seeds (operator
    verification only: a proven domain is identity, not standing). `group` is each agent's
    seed group, a keyed hash of its id (server/trust/groups.py); None deals them by index,
    for tests and benches that have no ids."""

    agents: int
    capabilities: int
    verified: BoolArray  # (agents,)
    attester: IntArray  # (claims,)
    subject: IntArray
    kind: npt.NDArray[np.int8]
    value: FloatArray  # behaviour score 0-100; capability 1/0; identity 1
    capability: IntArray  # -1 unless kind is capability
    group: IntArray | None = None  # (agents,), 0 <= group < seed groups
