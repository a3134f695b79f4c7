"""Recomputes every trust score from the whole attestation graph.

Scheduled every `trust_check_interval_s` (a few seconds) but cheap when idle:
it marks claims past expiry as expired, then recomputes only if attestations
changed since the last run (the Redis flag the write path sets), something
expired, or `trust_recompute_interval_s` passed since the last run (which also
picks up verification changes and deleted agents).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np

from scheduler.context import JobContext
from server.cache.aside import CacheAside
from server.domain.names import capability_name
from server.registry.cached import AGENTS_CHANGED, agent_generation
from server.trust.engine import TrustGraph, TrustParameters, TrustResult, compute
from server.trust.service import LEADERBOARD_GENERATION, REPUTATION_GENERATION
from server.trust.signal import TrustSignal

log = logging.getLogger("agentregistry.trust")

SCORE_BATCH = 10_000


async def trust_recompute(context: JobContext) -> dict[str, Any]:
    now = datetime.now(UTC)
    async with context.uow() as uow:
        expired = await uow.attestations.expire_due(now)
        await uow.commit()
    signal = TrustSignal(context.redis)
    dirty = await signal.take()
    async with context.uow() as uow:
        last = await uow.trust.last_run_started_at()
    interval = context.settings.trust_recompute_interval_s
    due = last is None or (now - last).total_seconds() >= interval
    if not (dirty or expired or due):
        return {"skipped": 1}
    try:
        figures = await recompute(context)
    except BaseException:
        if dirty:
            await signal.mark_dirty()  # keep the change pending for the next tick
        raise
    return {"expired": len(expired), **figures}


def parameters(context: JobContext) -> TrustParameters:
    settings = context.settings
    return TrustParameters(
        damping=settings.trust_damping, verify_threshold=settings.trust_verify_threshold
    )


async def recompute(context: JobContext) -> dict[str, Any]:
    """Load one snapshot, compute, write back what changed."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    async with context.uow() as uow:
        snapshot = await uow.trust.load_graph()
    read_s = time.perf_counter() - clock
    clock = time.perf_counter()
    claims = snapshot.claims
    graph = TrustGraph(
        agents=len(snapshot.agent_ids),
        capabilities=len(snapshot.capability_ids),
        verified=snapshot.verified,
        attester=claims["attester"].astype(np.int64),
        subject=claims["subject"].astype(np.int64),
        kind=claims["kind"].astype(np.int8),
        value=claims["value"].astype(np.float64),
        capability=claims["capability"].astype(np.int64),
    )
    result = compute(graph, parameters(context))
    engine_s = time.perf_counter() - clock
    clock = time.perf_counter()
    ids = snapshot.agent_ids

    changed = np.flatnonzero(np.abs(result.score - snapshot.scores) >= 0.005)
    standing_rows, gone_agents = _agent_trust_diff(ids, result, snapshot.standing)
    capability_rows, gone_pairs, newly_verified = _capability_diff(
        ids, snapshot.capability_ids, result, snapshot.capability_trust
    )
    compare_s = time.perf_counter() - clock
    clock = time.perf_counter()
    cache = CacheAside(context.redis)
    for start in range(0, changed.size, SCORE_BATCH):
        chunk = changed[start : start + SCORE_BATCH]
        async with context.uow() as uow:
            await uow.trust.relax_durability()
            await uow.trust.write_scores(
                [ids[i] for i in chunk], result.score[chunk].tolist(), started
            )
            await uow.commit()
        # Cached profiles and list pages carry the score: retire them once it is committed.
        await cache.bump(
            *(agent_generation(ids[i]) for i in chunk), *AGENTS_CHANGED, LEADERBOARD_GENERATION
        )

    async with context.uow() as uow:
        await uow.trust.relax_durability()
        await uow.trust.upsert_agent_trust(standing_rows)
        await uow.trust.delete_agent_trust(gone_agents)
        await uow.trust.upsert_capability_trust(capability_rows)
        await uow.trust.delete_capability_trust(gone_pairs)
        for agent_id, capability_id, support in newly_verified:
            await uow.events.add(
                "CAPABILITY_VERIFIED",
                agent_id,
                {"capability": capability_name(capability_id), "weighted_support": support},
            )
        await uow.trust.record_run(
            started,
            datetime.now(UTC),
            agents=len(ids),
            attestations=int(claims.size),
            seeds=result.seeds,
            iterations=result.iterations,
        )
        await uow.commit()
    await cache.bump(REPUTATION_GENERATION)
    if result.seeds == 0 and claims.size:
        log.warning("no verified agents: every trust score stays at the baseline")
    return {
        "agents": len(ids),
        "attestations": int(claims.size),
        "seeds": result.seeds,
        "iterations": result.iterations,
        "scores_changed": int(changed.size),
        "standing_changed": len(standing_rows) + len(gone_agents),
        "capabilities_verified": len(newly_verified),
        "read_s": round(read_s, 2),
        "engine_s": round(engine_s, 2),
        "compare_s": round(compare_s, 2),
        "write_s": round(time.perf_counter() - clock, 2),
    }


def _agent_trust_diff(
    ids: list[str], result: TrustResult, stored: np.ndarray[Any, np.dtype[Any]]
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Standing rows to write (agents with any active claim whose row differs) and rows to
    delete, compared column by column as arrays indexed by agent."""
    n = len(ids)
    present = np.zeros(n, dtype=bool)
    present[stored["agent"]] = True
    before = np.zeros(n, dtype=stored.dtype)
    before[stored["agent"]] = stored
    adjusted = np.round(result.behaviour.adjusted, 2)
    named = result.contributor >= 0
    counts = named.sum(axis=1)
    shares = np.where(named, result.contribution, -1.0)
    same = present & result.touched
    for column, value in (
        ("behaviour_average", result.behaviour_average),
        ("behaviour_claims", result.behaviour_claims),
        ("distinct_attesters", result.distinct_attesters),
        ("component_size", result.component_size),
        ("component_seeded", result.component_seeded),
        ("reachable", result.reachable),
        ("standing_score", result.standing_score),
        ("behaviour_score", adjusted),
        ("confidence", result.behaviour.confidence),
        ("attesters_with_standing", result.behaviour.attesters_with_standing),
        ("contributors", counts),
        ("contributions", counts),
    ):
        same &= before[column] == value
    same &= (before["contributor"] == result.contributor).all(axis=1)
    same &= (before["contribution"] == shares).all(axis=1)
    write = np.flatnonzero(result.touched & ~same)
    columns = zip(
        write.tolist(),
        result.behaviour_average[write].tolist(),
        result.behaviour_claims[write].tolist(),
        result.distinct_attesters[write].tolist(),
        result.component_size[write].tolist(),
        result.component_seeded[write].tolist(),
        result.reachable[write].tolist(),
        result.standing_score[write].tolist(),
        adjusted[write].tolist(),
        result.behaviour.confidence[write].tolist(),
        result.behaviour.attesters_with_standing[write].tolist(),
        result.contributor[write].tolist(),
        result.contribution[write].tolist(),
        strict=True,
    )
    rows: list[tuple[Any, ...]] = []
    for index, *values in columns:
        # Space-joined, as the repository stores them.
        named_ids = [ids[i] for i in values[-2] if i >= 0]
        values[-2] = " ".join(named_ids)
        values[-1] = " ".join(f"{share:g}" for share in values[-1][: len(named_ids)])
        rows.append((ids[index], *values))
    gone = [ids[i] for i in np.flatnonzero(present & ~result.touched).tolist()]
    return rows, gone


def _capability_diff(
    ids: list[str],
    capability_ids: list[str],
    result: TrustResult,
    stored: np.ndarray[Any, np.dtype[Any]],
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], list[tuple[str, str, float]]]:
    """Tally rows to write, pairs to delete and newly verified pairs, matched on the
    (subject, capability) key as sorted arrays."""
    tally = result.capabilities
    width = max(len(capability_ids), 1)
    keys = tally.subject * width + tally.capability  # sorted and unique: np.unique made them
    stored_keys = stored["agent"].astype(np.int64) * width + stored["capability"]
    position = np.searchsorted(keys, stored_keys)
    inside = position < keys.size
    found = np.zeros(stored_keys.shape, dtype=bool)
    found[inside] = keys[position[inside]] == stored_keys[inside]
    matched = position[found]
    kept = stored[found]
    same = np.zeros(keys.shape, dtype=bool)
    same[matched] = (
        (kept["positive"] == tally.positive[matched])
        & (kept["negative"] == tally.negative[matched])
        & (kept["support"] == tally.support[matched])
        & (kept["verified"] == tally.verified[matched])
    )
    was_verified = np.zeros(keys.shape, dtype=bool)
    was_verified[matched] = kept["verified"]
    write = np.flatnonzero(~same)
    rows = [
        (ids[subject], capability_ids[capability], positive, negative, support, verified)
        for subject, capability, positive, negative, support, verified in zip(
            tally.subject[write].tolist(),
            tally.capability[write].tolist(),
            tally.positive[write].tolist(),
            tally.negative[write].tolist(),
            tally.support[write].tolist(),
            tally.verified[write].tolist(),
            strict=True,
        )
    ]
    fresh = np.flatnonzero(tally.verified & ~was_verified)
    newly_verified = [
        (ids[subject], capability_ids[capability], support)
        for subject, capability, support in zip(
            tally.subject[fresh].tolist(),
            tally.capability[fresh].tolist(),
            tally.support[fresh].tolist(),
            strict=True,
        )
    ]
    gone_rows = stored[~found]
    gone = [
        (ids[agent], capability_ids[capability])
        for agent, capability in zip(
            gone_rows["agent"].tolist(), gone_rows["capability"].tolist(), strict=True
        )
    ]
    return rows, gone, newly_verified
