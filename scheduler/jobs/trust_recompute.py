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
from server.trust.service import LEADERBOARD_GENERATION
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
    standing_rows, gone_agents = _agent_trust_diff(ids, result, snapshot.agent_trust)
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
    ids: list[str], result: TrustResult, previous: dict[str, tuple[Any, ...]]
) -> tuple[list[tuple[Any, ...]], list[str]]:
    rows: list[tuple[Any, ...]] = []
    touched = np.flatnonzero(result.touched)
    columns = zip(
        touched.tolist(),
        result.behaviour_average[touched].tolist(),
        result.behaviour_claims[touched].tolist(),
        result.distinct_attesters[touched].tolist(),
        result.component_size[touched].tolist(),
        result.component_seeded[touched].tolist(),
        result.reachable[touched].tolist(),
        result.standing_score[touched].tolist(),
        np.round(result.behaviour.adjusted[touched], 2).tolist(),
        result.behaviour.confidence[touched].tolist(),
        result.behaviour.attesters_with_standing[touched].tolist(),
        result.contributor[touched].tolist(),
        result.contribution[touched].tolist(),
        strict=True,
    )
    for index, *values in columns:
        agent_id = ids[index]
        # Space-joined, as the repository stores and reads them back.
        named = [ids[i] for i in values[-2] if i >= 0]
        values[-2] = " ".join(named)
        values[-1] = " ".join(f"{share:g}" for share in values[-1][: len(named)])
        if previous.get(agent_id) != tuple(values):
            rows.append((agent_id, *values))
    kept = {ids[i] for i in touched.tolist()}
    gone = [agent_id for agent_id in previous if agent_id not in kept]
    return rows, gone


def _capability_diff(
    ids: list[str],
    capability_ids: list[str],
    result: TrustResult,
    previous: dict[tuple[str, str], tuple[Any, ...]],
) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], list[tuple[str, str, float]]]:
    tally = result.capabilities
    rows: list[tuple[Any, ...]] = []
    newly_verified: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    columns = zip(
        tally.subject.tolist(),
        tally.capability.tolist(),
        tally.positive.tolist(),
        tally.negative.tolist(),
        tally.support.tolist(),
        tally.verified.tolist(),
        strict=True,
    )
    for subject, capability, positive, negative, support, verified in columns:
        key = (ids[subject], capability_ids[capability])
        seen.add(key)
        values = (positive, negative, support, verified)
        before = previous.get(key)
        if before != values:
            rows.append((*key, *values))
            if verified and not (before is not None and before[3]):
                newly_verified.append((*key, support))
    gone = [key for key in previous if key not in seen]
    return rows, gone, newly_verified
