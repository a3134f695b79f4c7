"""Honest trust graphs of different shapes, for the attack suite.

Each generator returns N agents, 1% of them seeds (operator-verified), 20% behaving
badly, and claims among them. Honest attesters rate good agents 65-100 and bad ones
0-35, say a capability is true of good agents (and of 30% of bad ones), and assert
identities. The shapes differ in who attests whom:

* ours: out-degree 1-20 (geometric), subjects skewed towards popular agents;
* power-law: heavy-tailed out-degree and preferential (Pareto) popularity, hubs;
* community: 25 communities, 85% of claims inside one's own, so some communities
  hold no seed and reach standing only through the few claims that cross over;
* sparse: Erdos-Renyi, about 2.5 claims an agent, uniform subjects.

An attack on a shape must hold on all of them, not only on the one it was tuned on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from server.trust.engine import KIND_BEHAVIOUR, KIND_CAPABILITY, KIND_IDENTITY, TrustGraph

CAPABILITIES = 8
HONEST_CAPABILITY = 0  # the capability honest claims are about


@dataclass
class Builder:
    agents: int
    verified: list[int] = field(default_factory=list)
    edges: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def add_agents(self, count: int) -> np.ndarray:
        first = self.agents
        self.agents += count
        return np.arange(first, self.agents)

    def claims(
        self,
        attester: np.ndarray | int,
        subject: np.ndarray | int,
        kind: int,
        value: np.ndarray | float,
        capability: int = HONEST_CAPABILITY,
    ) -> None:
        attester, subject = np.broadcast_arrays(np.asarray(attester), np.asarray(subject))
        value = np.broadcast_to(np.asarray(value, dtype=np.float64), attester.shape)
        cap = capability if kind == KIND_CAPABILITY else -1
        self.edges.append(
            (
                attester.ravel(),
                subject.ravel(),
                np.full(attester.size, kind),
                value.ravel(),
                np.full(attester.size, cap),
            )
        )

    def endorse(
        self, attester: np.ndarray | int, subject: np.ndarray | int, score: float = 100.0
    ) -> None:
        self.claims(attester, subject, KIND_BEHAVIOUR, score)

    def withdraw(self, attester: int) -> None:
        """Drop every claim the attester made so far."""
        self.edges = [tuple(column[edge[0] != attester] for column in edge) for edge in self.edges]

    def copy(self) -> Builder:
        return Builder(self.agents, list(self.verified), list(self.edges))

    def graph(self) -> TrustGraph:
        attester, subject, kind, value, capability = (
            np.concatenate(c) for c in zip(*self.edges, strict=True)
        )
        keep = attester != subject
        attester, subject, kind = attester[keep], subject[keep], kind[keep]
        value, capability = value[keep], capability[keep]
        # One active claim per (attester, subject, kind, capability): the newest wins.
        keys = ((attester * self.agents + subject) * 3 + kind) * (CAPABILITIES + 1) + (
            capability + 1
        )
        _, last = np.unique(keys[::-1], return_index=True)
        pick = np.sort(keys.size - 1 - last)
        flags = np.zeros(self.agents, dtype=bool)
        flags[self.verified] = True
        return TrustGraph(
            agents=self.agents,
            capabilities=CAPABILITIES,
            verified=flags,
            attester=attester[pick].astype(np.int64),
            subject=subject[pick].astype(np.int64),
            kind=kind[pick].astype(np.int8),
            value=value[pick],
            capability=capability[pick].astype(np.int64),
        )


@dataclass(frozen=True)
class Honest:
    name: str
    builder: Builder
    bad: np.ndarray  # (agents,) bool
    out_degree: np.ndarray


def _finish(
    name: str,
    agents: int,
    attester: np.ndarray,
    subject: np.ndarray,
    rng: np.random.Generator,
    kinds: tuple[float, float, float] = (0.25, 0.15, 0.60),
) -> Honest:
    """Seeds, bad agents and claim values for the edges a shape drew."""
    builder = Builder(agents)
    builder.verified = sorted(rng.choice(agents, max(agents // 100, 1), replace=False).tolist())
    bad = rng.random(agents) < 0.2
    keep = attester != subject
    attester, subject = attester[keep], subject[keep]
    kind = rng.choice(3, size=attester.size, p=list(kinds))
    quality = np.where(
        bad[subject], rng.integers(0, 36, attester.size), rng.integers(65, 101, attester.size)
    )
    capability_true = ~bad[subject] | (rng.random(attester.size) < 0.3)
    value = np.select(
        [kind == KIND_BEHAVIOUR, kind == KIND_CAPABILITY], [quality, capability_true], 1.0
    ).astype(np.float64)
    for k in (KIND_CAPABILITY, KIND_IDENTITY, KIND_BEHAVIOUR):
        rows = kind == k
        builder.claims(attester[rows], subject[rows], k, value[rows])
    return Honest(name, builder, bad, np.bincount(attester, minlength=agents))


def ours(agents: int, rng: np.random.Generator) -> Honest:
    degree = np.minimum(1 + rng.geometric(1 / 7, agents), 20)
    attester = np.repeat(np.arange(agents), degree)
    popularity = rng.permutation(agents)
    subject = popularity[(agents * rng.random(attester.size) ** 1.5).astype(np.int64)]
    return _finish("ours", agents, attester, subject, rng)


def power_law(agents: int, rng: np.random.Generator) -> Honest:
    degree = np.minimum(1 + rng.zipf(2.2, agents), 300)
    attester = np.repeat(np.arange(agents), degree)
    weight = rng.pareto(1.5, agents) + 1.0
    subject = rng.choice(agents, attester.size, p=weight / weight.sum())
    return _finish("power-law", agents, attester, subject, rng, (0.2, 0.1, 0.7))


def community(agents: int, rng: np.random.Generator) -> Honest:
    groups = 25
    member = rng.integers(0, groups, agents)
    by_group = [np.flatnonzero(member == g) for g in range(groups)]
    degree = np.minimum(1 + rng.poisson(5, agents), 30)
    attester = np.repeat(np.arange(agents), degree)
    inside = rng.random(attester.size) < 0.85
    home = member[attester]
    other = rng.integers(0, groups, attester.size)
    target_group = np.where(inside, home, other)
    subject = np.empty(attester.size, dtype=np.int64)
    for g in range(groups):
        rows = target_group == g
        subject[rows] = rng.choice(by_group[g], rows.sum())
    return _finish("community", agents, attester, subject, rng, (0.3, 0.2, 0.5))


def sparse(agents: int, rng: np.random.Generator) -> Honest:
    claims = int(agents * 2.5)
    attester = rng.integers(0, agents, claims)
    subject = rng.integers(0, agents, claims)
    return _finish("sparse", agents, attester, subject, rng)


GENERATORS: dict[str, Callable[[int, np.random.Generator], Honest]] = {
    "ours": ours,
    "power-law": power_law,
    "community": community,
    "sparse": sparse,
}
