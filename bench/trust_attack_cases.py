"""The attacks, one function each: what the attacker adds to an honest graph.

Each returns an Outcome naming what the goals are judged on: the identity it promotes,
the identities it created, the real agents it controls (left out of honest drift), a
victim it bad-mouths, a capability it forges or denies, and the real agents whose
endorsement it rides on (the target may reach what those endorsements would give an
independent newcomer, no more). A proven domain is identity, not standing: the engine
never sees it, so domain farming is sybils whose only asset is a paid-for name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from bench.trust_graphs import CAPABILITIES, HONEST_CAPABILITY, Builder, Honest
from server.trust.engine import KIND_CAPABILITY, TrustResult

SYBILS = 500


@dataclass(frozen=True)
class Outcome:
    target: int | None = None
    identities: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    controlled: frozenset[int] = frozenset()
    victims: tuple[int, ...] = ()
    raters: int = 0  # how many agents bad-mouth each victim (the honest reference uses as many)
    forged: tuple[int, int] | None = None  # (subject, capability) that must stay unverified
    denied: tuple[int, int] | None = None  # (subject, capability) that must stay verified
    endorsers: tuple[int, ...] = ()  # real agents whose endorsement the target rides on


Attack = Callable[[Builder, Honest, TrustResult, np.random.Generator], Outcome]


def regular(h: Honest, base: TrustResult) -> np.ndarray:
    """Honest non-seed agents of the original graph."""
    n = h.bad.size
    honest = np.arange(n)
    return honest[~np.isin(honest, h.builder.verified)]


def with_standing(h: Honest, base: TrustResult, good: bool | None = None) -> np.ndarray:
    pool = regular(h, base)
    pool = pool[base.standing[pool] > 0]
    if good is not None:
        pool = pool[h.bad[pool] != good]
    return pool


def by_score(base: TrustResult, pool: np.ndarray, quantile: float) -> int:
    ordered = pool[np.argsort(base.score[pool], kind="stable")]
    return int(ordered[int(quantile * (ordered.size - 1))])


def sybils(b: Builder, count: int, ring: bool, star: bool) -> tuple[np.ndarray, int]:
    members = b.add_agents(count)
    target = int(members[0])
    if ring:
        b.endorse(members, np.roll(members, -1))
    if star:
        b.endorse(members[1:], target)
        b.endorse(target, members[1:2])
    return members, target


def attack_ring(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    members, target = sybils(b, SYBILS, ring=True, star=True)
    return Outcome(target=target, identities=members)


def attack_star(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    members, target = sybils(b, SYBILS, ring=False, star=True)
    return Outcome(target=target, identities=members)


def _bridge(b: Builder, h: Honest, base: TrustResult, low: bool) -> Outcome:
    pool = with_standing(h, base, good=True)
    degree = h.out_degree[pool]
    pool = pool[degree == (degree.min() if low else degree.max())]
    bridge = by_score(base, pool, 0.5)
    members, target = sybils(b, SYBILS, ring=True, star=True)
    entry = int(members[SYBILS // 2])
    b.endorse(bridge, entry)
    return Outcome(target=target, identities=members, endorsers=(bridge,))


def attack_bridge_low(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    return _bridge(b, h, base, low=True)


def attack_bridge_high(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    return _bridge(b, h, base, low=False)


def attack_clique(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    """Ten real agents from the lower half by score rate each other 100 to lift one of them."""
    pool = with_standing(h, base)
    lower = pool[base.score[pool] <= np.median(base.score[pool])]
    clique = rng.choice(lower, min(10, lower.size), replace=False)
    b.endorse(clique[:, None], clique[None, :])
    target = int(clique[np.argmin(base.score[clique])])
    return Outcome(target=target, controlled=frozenset(clique.tolist()) - {target})


def attack_whitewash(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    pool = with_standing(h, base, good=False)
    old = by_score(base, pool, 0.9)
    members, _ = sybils(b, SYBILS, ring=True, star=False)
    fresh = int(b.add_agents(1)[0])
    b.endorse(members, fresh)
    b.endorse(old, fresh)  # the old identity hands over what it still has
    return Outcome(target=fresh, identities=members, controlled=frozenset({old}), endorsers=(old,))


def attack_flood(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    flooder = int(rng.choice(with_standing(h, base)))
    crowd = b.add_agents(5_000)
    b.endorse(flooder, crowd)
    b.endorse(crowd[1:], int(crowd[0]))
    return Outcome(
        target=int(crowd[0]),
        identities=crowd,
        controlled=frozenset({flooder}),
        endorsers=(flooder,),
    )


def attack_mass(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    controllers = rng.choice(with_standing(h, base), 10, replace=False)
    crowd = b.add_agents(50_000)
    b.endorse(rng.choice(controllers, crowd.size), crowd, 60.0)
    b.endorse(crowd, np.roll(crowd, -1), 60.0)
    return Outcome(
        target=int(crowd[0]), identities=crowd, controlled=frozenset(controllers.tolist())
    )


def attack_badmouth(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    victim = by_score(base, with_standing(h, base, good=True), 0.5)
    members, _ = sybils(b, SYBILS, ring=True, star=False)
    accomplices = rng.choice(with_standing(h, base), 2, replace=False)
    b.endorse(members, victim, 0.0)
    b.endorse(accomplices, victim, 0.0)
    return Outcome(
        victims=(victim,),
        raters=2,
        identities=members,
        controlled=frozenset(accomplices.tolist()),
    )


def attack_badmouth_standing(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """Ten agents with real standing (top decile) rate one good agent 0."""
    pool = with_standing(h, base)
    strong = pool[base.score[pool] >= np.quantile(base.score[pool], 0.9)]
    raters = rng.choice(strong, 10, replace=False)
    victim = by_score(base, with_standing(h, base, good=True), 0.5)
    b.endorse(raters, victim, 0.0)
    return Outcome(victims=(victim,), raters=10, controlled=frozenset(raters.tolist()) - {victim})


def attack_compromised_seed(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    seed = int(rng.choice(b.verified))
    members, target = sybils(b, SYBILS, ring=True, star=True)
    b.endorse(seed, members)
    return Outcome(
        target=target, identities=members, controlled=frozenset({seed}), endorsers=(seed,)
    )


def attack_compromised_seed_shaped(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """The best shape found: endorse 5 sybils of a 200-sybil army rather than all of them."""
    seed = int(rng.choice(b.verified))
    members, target = sybils(b, 200, ring=True, star=True)
    fed = members[1:6]
    b.endorse(seed, fed)
    b.endorse(fed[:, None], members[None, 6:])
    return Outcome(
        target=target, identities=members, controlled=frozenset({seed}), endorsers=(seed,)
    )


def _domain_farm(b: Builder, domains: int) -> Outcome:
    """`domains` proven-domain agents and 200 sybils all endorse one target."""
    owners = b.add_agents(domains)
    members, target = sybils(b, 200, ring=True, star=True)
    b.endorse(owners[:, None], members[None, :])
    b.endorse(owners, target)
    b.endorse(owners, np.roll(owners, -1))
    return Outcome(target=target, identities=np.concatenate([owners, members]))


def attack_domains_5(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    return _domain_farm(b, 5)


def attack_domains_20(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    return _domain_farm(b, 20)


def attack_domains_200(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    return _domain_farm(b, 200)


def attack_id_grinding(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """Three domains whose ids the attacker ground to sit together, rating the 100 best
    agents 0 and endorsing 11 sybils: groups come from a keyed hash of seed ids, and domains
    are not seeds, so neither the grouping nor the caps move."""
    owners = b.add_agents(3)
    members, target = sybils(b, 11, ring=True, star=True)
    b.endorse(owners[:, None], members[None, :])
    pool = with_standing(h, base)
    best = pool[np.argsort(base.score[pool])[-100:]]
    b.endorse(owners[:, None], best[None, :], 0.0)
    return Outcome(
        target=target,
        identities=np.concatenate([owners, members]),
        victims=tuple(best.tolist()),
        raters=3,
    )


def attack_cap_inflation(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """A compromised seed pours its unit into 3 sybils, which endorse 11 more and rate the
    100 best agents 0: concentrated mass must not raise a cap others are measured by."""
    seed = int(rng.choice(b.verified))
    members, target = sybils(b, 14, ring=True, star=True)
    b.endorse(seed, members[:3])
    b.endorse(members[:3, None], members[None, 3:])
    pool = with_standing(h, base)
    best = pool[np.argsort(base.score[pool])[-100:]]
    b.endorse(members[:3, None], best[None, :], 0.0)
    return Outcome(
        target=target,
        identities=members,
        controlled=frozenset({seed}),
        endorsers=(seed,),
        victims=tuple(best.tolist()),
        raters=3,
    )


def _capability_attackers(b: Builder, domains: int) -> np.ndarray:
    owners = b.add_agents(domains)
    members, _ = sybils(b, 200, ring=True, star=False)
    b.endorse(owners[:, None], members[None, :])
    return np.concatenate([owners, members])


def attack_capability_forgery(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """3 domains and 200 sybils say a capability nobody else claims is true of an agent."""
    attackers = _capability_attackers(b, 3)
    subject = int(rng.choice(with_standing(h, base)))
    forged = CAPABILITIES - 1
    b.claims(attackers, subject, KIND_CAPABILITY, 1.0, forged)
    return Outcome(identities=attackers, forged=(subject, forged))


def attack_capability_denial(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """2 domains and 200 sybils deny a rival's verified capability."""
    tally = base.capabilities
    verified = tally.subject[tally.verified & (tally.capability == HONEST_CAPABILITY)]
    verified = verified[verified < h.bad.size]
    attackers = _capability_attackers(b, 2)
    if verified.size == 0:
        return Outcome(identities=attackers)
    rival = int(rng.choice(verified))
    b.claims(attackers, rival, KIND_CAPABILITY, 0.0, HONEST_CAPABILITY)
    return Outcome(identities=attackers, denied=(rival, HONEST_CAPABILITY))


def attack_sleepers(b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator) -> Outcome:
    """50 identities each earn 5 honest endorsements, then all rate one good agent 0."""
    sleepers = b.add_agents(50)
    endorsers = with_standing(h, base, good=True)
    for sleeper in sleepers:
        b.endorse(rng.choice(endorsers, 5, replace=False), int(sleeper), 90.0)
    victim = by_score(base, with_standing(h, base, good=True), 0.5)
    b.endorse(sleepers, victim, 0.0)
    # The sleepers earned their endorsements: they are judged by the victim's loss alone.
    return Outcome(victims=(victim,), raters=50)


def attack_withdrawal(
    b: Builder, h: Honest, base: TrustResult, rng: np.random.Generator
) -> Outcome:
    """The busiest honest attester withdraws every claim to endorse one fresh identity."""
    pool = with_standing(h, base)
    busy = int(pool[np.argmax(h.out_degree[pool])])
    b.withdraw(busy)
    fresh = int(b.add_agents(1)[0])
    b.endorse(busy, fresh)
    return Outcome(target=fresh, identities=np.array([fresh]), controlled=frozenset({busy}))


ATTACKS: dict[str, Attack] = {
    "sybil ring": attack_ring,
    "sybil star": attack_star,
    "ring + low-degree bridge": attack_bridge_low,
    "ring + high-degree bridge": attack_bridge_high,
    "collusion clique (10 real)": attack_clique,
    "whitewashing": attack_whitewash,
    "flooding (5k claims)": attack_flood,
    "mass identities (50k)": attack_mass,
    "bad-mouthing (sybils)": attack_badmouth,
    "bad-mouthing (standing)": attack_badmouth_standing,
    "compromised seed": attack_compromised_seed,
    "compromised seed, 5 of 200": attack_compromised_seed_shaped,
    "domain farming (5)": attack_domains_5,
    "domain farming (20)": attack_domains_20,
    "domain farming (200)": attack_domains_200,
    "id grinding (3 domains)": attack_id_grinding,
    "cap inflation": attack_cap_inflation,
    "capability forgery": attack_capability_forgery,
    "capability denial": attack_capability_denial,
    "sleepers (50)": attack_sleepers,
    "claim withdrawal": attack_withdrawal,
}
