"""Attacks on the trust score: a synthetic honest graph, then one attack at a time.

Usage: python -m bench.trust_attacks [--agents N] [--seed S]  (or `make bench-trust-attacks`)

Runs the pure engine (no database). The honest graph: N agents, 1% verified seeds,
each agent attesting 1-20 others (skewed towards popular subjects), 60% of claims
behaviour, 25% capability, 15% identity; 20% of agents behave badly and honest
attesters rate them 0-35 (the others 65-100). Each attack adds agents and claims;
the table shows the mean absolute drift of the honest agents' scores (agents the
attack controls left out), the attacker's target against the honest median, and
whether both goals hold: drift < 5 points and the target below the median (for
bad-mouthing: the victim loses < 5 points). The AUC line says how well the score
separates the good agents from the bad ones. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.harness import machine
from server.trust.engine import (
    KIND_BEHAVIOUR,
    KIND_CAPABILITY,
    KIND_IDENTITY,
    TrustGraph,
    TrustResult,
    compute,
)

SYBILS = 500
MAX_DRIFT = 5.0


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
        self, attester: np.ndarray, subject: np.ndarray, kind: int, value: np.ndarray
    ) -> None:
        attester, subject = np.broadcast_arrays(np.asarray(attester), np.asarray(subject))
        value = np.broadcast_to(np.asarray(value, dtype=np.float64), attester.shape)
        self.edges.append(
            (attester.ravel(), subject.ravel(), np.full(attester.size, kind), value.ravel())
        )

    def endorse(self, attester: np.ndarray, subject: np.ndarray, score: float = 100.0) -> None:
        self.claims(attester, subject, KIND_BEHAVIOUR, np.asarray(score))

    def copy(self) -> Builder:
        return Builder(self.agents, list(self.verified), list(self.edges))

    def graph(self) -> TrustGraph:
        attester, subject, kind, value = (np.concatenate(c) for c in zip(*self.edges, strict=True))
        keep = attester != subject
        attester, subject, kind, value = attester[keep], subject[keep], kind[keep], value[keep]
        # One active claim per (attester, subject, kind): the newest (last added) wins.
        keys = (attester * self.agents + subject) * 3 + kind
        _, last = np.unique(keys[::-1], return_index=True)
        pick = np.sort(keys.size - 1 - last)
        flags = np.zeros(self.agents, dtype=bool)
        flags[self.verified] = True
        return TrustGraph(
            agents=self.agents,
            capabilities=8,
            verified=flags,
            attester=attester[pick].astype(np.int64),
            subject=subject[pick].astype(np.int64),
            kind=kind[pick].astype(np.int8),
            value=value[pick],
            capability=np.where(kind[pick] == KIND_CAPABILITY, 0, -1).astype(np.int64),
        )


@dataclass(frozen=True)
class Honest:
    builder: Builder
    bad: np.ndarray  # (agents,) bool
    out_degree: np.ndarray


def honest_graph(agents: int, rng: np.random.Generator) -> Honest:
    builder = Builder(agents)
    builder.verified = sorted(rng.choice(agents, agents // 100, replace=False).tolist())
    bad = rng.random(agents) < 0.2
    degree = np.minimum(1 + rng.geometric(1 / 7, agents), 20)
    attester = np.repeat(np.arange(agents), degree)
    popularity = rng.permutation(agents)
    subject = popularity[(agents * rng.random(attester.size) ** 1.5).astype(np.int64)]
    kind = rng.choice(3, size=attester.size, p=[0.25, 0.15, 0.60])
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
    return Honest(builder, bad, np.bincount(attester[attester != subject], minlength=agents))


def sybils(b: Builder, ring: bool, star: bool) -> tuple[np.ndarray, int]:
    members = b.add_agents(SYBILS)
    target = int(members[0])
    if ring:
        b.endorse(members, np.roll(members, -1))
    if star:
        b.endorse(members[1:], target)
        b.endorse(target, members[1:2])
    return members, target


Attack = Callable[
    [Builder, Honest, TrustResult, np.random.Generator], tuple[int, set[int], int | None]
]


def by_standing(base: TrustResult, pool: np.ndarray, quantile: float) -> int:
    ordered = pool[np.argsort(base.score[pool], kind="stable")]
    return int(ordered[int(quantile * (ordered.size - 1))])


def attack_ring(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    _, target = sybils(b, ring=True, star=True)
    return target, set(), None


def attack_star(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    _, target = sybils(b, ring=False, star=True)
    return target, set(), None


def _bridge(
    b: Builder, h: Honest, base: TrustResult, low: bool
) -> tuple[int, set[int], int | None]:
    honest = np.arange(h.bad.size)
    pool = honest[~h.bad & base.reachable[: h.bad.size] & ~np.isin(honest, b.verified)]
    degree = h.out_degree[pool]
    pool = pool[degree == (degree.min() if low else degree.max())]
    bridge = by_standing(base, pool, 0.5)
    members, target = sybils(b, ring=True, star=True)
    b.endorse(bridge, members[SYBILS // 2])
    return target, set(), None


def attack_bridge_low(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    return _bridge(b, h, base, low=True)


def attack_bridge_high(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    return _bridge(b, h, base, low=False)


def _regular(h: Honest, base: TrustResult, count: int, rng: np.random.Generator) -> np.ndarray:
    honest = np.arange(h.bad.size)
    pool = honest[base.reachable[: h.bad.size] & ~h.builder.graph().verified[: h.bad.size]]
    return rng.choice(pool, count, replace=False)


def attack_clique(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    """Ten real agents from the lower half by score rate each other 100 to lift one of them."""
    honest = np.arange(h.bad.size)
    pool = honest[base.reachable[: h.bad.size] & ~np.isin(honest, b.verified)]
    lower = pool[base.score[pool] < np.median(base.score[pool])]
    clique = rng.choice(lower, 10, replace=False)
    b.endorse(clique[:, None], clique[None, :])
    target = int(clique[np.argmin(base.score[clique])])
    return target, set(clique.tolist()) - {target}, None


def attack_whitewash(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    honest = np.arange(h.bad.size)
    old = by_standing(base, honest[h.bad & base.reachable[: h.bad.size]], 0.9)
    members, _ = sybils(b, ring=True, star=False)
    fresh = int(b.add_agents(1)[0])
    b.endorse(members, fresh)
    b.endorse(old, fresh)  # the old identity hands over what it still has
    return fresh, {old}, None


def attack_flood(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    flooder = _regular(h, base, 1, rng)
    crowd = b.add_agents(5_000)
    target = int(crowd[0])
    b.endorse(flooder, crowd)
    b.endorse(crowd[1:], target)
    return target, set(flooder.tolist()), None


def attack_mass(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    controllers = _regular(h, base, 10, rng)
    crowd = b.add_agents(50_000)
    b.endorse(rng.choice(controllers, crowd.size), crowd, 60.0)
    b.endorse(crowd, np.roll(crowd, -1), 60.0)
    return int(crowd[0]), set(controllers.tolist()), None


def attack_badmouth(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    honest = np.arange(h.bad.size)
    victim = by_standing(base, honest[~h.bad & base.reachable[: h.bad.size]], 0.5)
    members, _ = sybils(b, ring=True, star=False)
    accomplices = _regular(h, base, 2, rng)
    b.endorse(members, victim, 0.0)
    b.endorse(accomplices, victim, 0.0)
    return victim, set(accomplices.tolist()), victim


def attack_compromised_seed(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> tuple[int, set[int], int | None]:
    seed = int(rng.choice(b.verified))
    members, target = sybils(b, ring=True, star=True)
    b.endorse(seed, members)
    return target, {seed}, None


ATTACKS: dict[str, Attack] = {
    "sybil ring": attack_ring,
    "sybil star": attack_star,
    "ring + low-degree bridge": attack_bridge_low,
    "ring + high-degree bridge": attack_bridge_high,
    "collusion clique (10 real)": attack_clique,
    "whitewashing": attack_whitewash,
    "flooding (5k claims)": attack_flood,
    "mass identities (50k)": attack_mass,
    "bad-mouthing": attack_badmouth,
    "compromised seed": attack_compromised_seed,
}


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    values = np.concatenate([positive, negative])
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(np.float64) + 1
    for value in np.unique(values):  # average ranks of ties
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    sum_positive = ranks[: positive.size].sum()
    return float(
        (sum_positive - positive.size * (positive.size + 1) / 2) / (positive.size * negative.size)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--agents", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"machine: {machine()} (shared with other work; timings are noisy)")
    rng = np.random.default_rng(args.seed)
    honest = honest_graph(args.agents, rng)
    n = args.agents
    started = time.perf_counter()
    base = compute(honest.builder.graph())
    base_s = time.perf_counter() - started
    seeds = np.zeros(n, dtype=bool)
    seeds[honest.builder.verified] = True
    regular = ~seeds
    median = float(np.median(base.score[:n][regular]))
    print(
        f"honest graph: {n} agents, {seeds.sum()} seeds, {base.reachable[:n].sum()} with standing; "
        f"median score {median:.2f}; computed in {base_s:.2f} s ({base.iterations} iterations)"
    )
    header = f"{'attack':30} {'honest drift':>12} {'target':>8} {'rank':>7} {'median':>7}  result"
    regular_scores = base.standing_score[:n][regular], base.behaviour.adjusted[:n][regular]
    print(
        f"honest medians: standing {np.median(regular_scores[0]):.2f}, "
        f"adjusted behaviour {np.median(regular_scores[1]):.2f}"
    )
    print(header)
    print("-" * len(header))
    rows = {}
    for name, attack in ATTACKS.items():
        builder = honest.builder.copy()
        target, controlled, victim = attack(
            builder, honest, base, np.random.default_rng(args.seed + 1)
        )
        result = compute(builder.graph())
        keep = regular.copy()
        keep[list(controlled)] = False
        drift = float(np.abs(result.score[:n][keep] - base.score[:n][keep]).mean())
        after_median = float(np.median(result.score[:n][keep]))
        rank = int((result.score > result.score[target]).sum()) + 1
        if victim is not None:
            ok_target = base.score[victim] - result.score[victim] < MAX_DRIFT
        else:
            ok_target = result.score[target] < after_median
        passed = drift < MAX_DRIFT and ok_target
        rows[name] = {
            "drift": round(drift, 3),
            "target": float(result.score[target]),
            "rank": rank,
            "median": round(after_median, 2),
            "pass": bool(passed),
        }
        shown = f"{result.score[target]:.2f}" + (
            f" (was {base.score[victim]:.2f})" if victim is not None else ""
        )
        print(
            f"{name:30} {drift:12.3f} {shown:>8} {rank:7d} {after_median:7.2f}  "
            + ("pass" if passed else "FAIL")
        )
    good, bad = ~honest.bad & regular, honest.bad & regular
    score_auc = auc(base.score[:n][good], base.score[:n][bad])
    plain = base.behaviour.average[:n]
    rated = base.behaviour.claims[:n] > 0
    plain_auc = auc(plain[good & rated], plain[bad & rated])
    print(
        f"AUC good vs bad agents by trust score: {score_auc:.3f} "
        f"(standing-weighted behaviour median alone: {plain_auc:.3f})"
    )
    passed = sum(r["pass"] for r in rows.values())
    print(f"{passed}/{len(rows)} attacks within the goals")
    metrics = {
        "agents": int(n),
        "attacks_passed": int(passed),
        "attacks": len(rows),
        "auc_good_vs_bad": round(score_auc, 3),
        "base_compute_s": round(base_s, 2),
        "max_honest_drift": max(r["drift"] for r in rows.values()),
        **{
            f"target_{k.split(' (')[0].replace(' ', '_').replace('+', 'and').replace('-', '_')}": r[
                "target"
            ]
            for k, r in rows.items()
        },
    }
    print(json.dumps({"bench": "trust-attacks", "metrics": metrics}))


if __name__ == "__main__":
    main()
