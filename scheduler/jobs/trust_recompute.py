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
import zlib
from datetime import UTC, datetime
from typing import Any

import numpy as np

from scheduler.context import JobContext
from server import heap
from server.cache.aside import CacheAside
from server.cache.keys import (
    AGENTS_CHANGED,
    LEADERBOARD_GENERATION,
    REPUTATION_GENERATION,
    agent_generation,
)
from server.domain.events import CapabilityVerified
from server.trust.engine import TrustGraph, TrustParameters, TrustResult, compute
from server.trust.explain import flag_names, sharp_moves
from server.trust.groups import seed_groups
from server.trust.signal import TrustSignal

log = logging.getLogger("agentregistry.trust")

SCORE_BATCH = 10_000


async def trust_recompute(context: JobContext) -> dict[str, Any]:
    now = context.clock()
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
    finally:
        heap.trim()  # the graph's arrays (~100 MB at a million claims) go back to the system
    return {"expired": len(expired), **figures}


def parameters(context: JobContext) -> TrustParameters:
    settings = context.settings
    return TrustParameters(
        damping=settings.trust_damping,
        verify_threshold=settings.trust_verify_threshold,
        verify_groups=settings.trust_verify_groups,
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
    params = parameters(context)
    # Only seeds need a group; keying every id would cost a second per million agents.
    seeds = np.flatnonzero(snapshot.verified)
    group = np.zeros(len(snapshot.agent_ids), dtype=np.int64)
    group[seeds] = seed_groups(
        [snapshot.agent_ids[i] for i in seeds.tolist()], snapshot.group_secret, params.seed_groups
    )
    graph = TrustGraph(
        agents=len(snapshot.agent_ids),
        capabilities=len(snapshot.capability_ids),
        verified=snapshot.verified,
        group=group,
        attester=claims["attester"].astype(np.int64),
        subject=claims["subject"].astype(np.int64),
        kind=claims["kind"].astype(np.int8),
        value=claims["value"].astype(np.float64),
        capability=claims["capability"].astype(np.int64),
    )
    result = compute(graph, params)
    engine_s = time.perf_counter() - clock
    clock = time.perf_counter()
    ids = snapshot.agent_ids

    changed = np.flatnonzero(np.abs(result.score - snapshot.scores) >= 0.005)
    flags = result.explanation.flags | sharp_moves(result.score, snapshot.scores)
    standing_rows, gone_agents = _agent_trust_rows(ids, result, flags, snapshot.standing)
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
                CapabilityVerified(
                    agent_id=agent_id, capability_id=capability_id, weighted_support=support
                )
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


def _agent_trust_rows(
    ids: list[str],
    result: TrustResult,
    flags: np.ndarray[Any, np.dtype[np.int64]],
    stored: np.ndarray[Any, np.dtype[Any]],
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """Rows to write (agents with any active claim whose fingerprint differs from the stored
    one) and rows to delete; one row per AGENT_TRUST_COLUMNS."""
    n = len(ids)
    id_hash = np.fromiter((zlib.crc32(i.encode()) for i in ids), dtype=np.uint64, count=n)

    def named(index: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        return np.where(index >= 0, id_hash[np.maximum(index, 0)], 0)

    explained = result.explanation
    adjusted = np.round(result.behaviour.adjusted, 2)
    columns: list[np.ndarray[Any, Any]] = [
        result.behaviour_average,
        result.behaviour_claims,
        result.distinct_attesters,
        result.component_size,
        result.component_seeded,
        result.reachable,
        result.standing_score,
        adjusted,
        result.behaviour.confidence,
        result.behaviour.attesters_with_standing,
        named(result.contributor),
        result.contribution,
        explained.rated,
        explained.groups,
        explained.group,
        explained.group_share,
        named(result.behaviour.rater),
        result.behaviour.rater_weight,
        flags,
    ]
    fingerprint = _fingerprint(columns, n)
    before = np.zeros(n, dtype=np.int64)
    present = np.zeros(n, dtype=bool)
    present[stored["agent"]] = True
    before[stored["agent"]] = stored["fingerprint"]
    write = np.flatnonzero(result.touched & (before != fingerprint))
    rows: list[tuple[Any, ...]] = []
    for index in write.tolist():
        contributors = [ids[i] for i in result.contributor[index].tolist() if i >= 0]
        raters = [ids[i] for i in result.behaviour.rater[index].tolist() if i >= 0]
        groups = [g for g in explained.group[index].tolist() if g >= 0]
        rows.append(
            (
                ids[index],
                float(result.behaviour_average[index]),
                int(result.behaviour_claims[index]),
                int(result.distinct_attesters[index]),
                int(result.component_size[index]),
                bool(result.component_seeded[index]),
                bool(result.reachable[index]),
                float(result.standing_score[index]),
                float(adjusted[index]),
                float(result.behaviour.confidence[index]),
                int(result.behaviour.attesters_with_standing[index]),
                contributors,
                result.contribution[index, : len(contributors)].tolist(),
                bool(explained.rated[index]),
                int(explained.groups[index]),
                groups,
                explained.group_share[index, : len(groups)].tolist(),
                raters,
                result.behaviour.rater_weight[index, : len(raters)].tolist(),
                flag_names(int(flags[index])),
                int(fingerprint[index]),
            )
        )
    gone = [ids[i] for i in np.flatnonzero(present & ~result.touched).tolist()]
    return rows, gone


def _fingerprint(
    columns: list[np.ndarray[Any, Any]], n: int
) -> np.ndarray[Any, np.dtype[np.int64]]:
    """A 64-bit hash per agent of every column (FNV-style over each value's bits), never 0:
    the migration's rows hold 0, so the first run writes them all."""
    if n == 0:  # a registry with no agents yet: reshape(0, -1) cannot infer a width
        return np.zeros(0, dtype=np.int64)
    state = np.full(n, 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for column in columns:
        values = np.asarray(column).reshape(n, -1)
        bits = (
            values.astype(np.float64).view(np.uint64)
            if values.dtype.kind == "f"
            else values.astype(np.uint64)
        )
        for part in bits.T:
            state = (state ^ part) * prime
    state[state == 0] = 1
    return state.view(np.int64)


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
        & (kept["groups"] == tally.groups[matched])
    )
    was_verified = np.zeros(keys.shape, dtype=bool)
    was_verified[matched] = kept["verified"]
    write = np.flatnonzero(~same)
    rows = [
        (ids[subject], capability_ids[capability], positive, negative, support, verified, groups)
        for subject, capability, positive, negative, support, verified, groups in zip(
            tally.subject[write].tolist(),
            tally.capability[write].tolist(),
            tally.positive[write].tolist(),
            tally.negative[write].tolist(),
            tally.support[write].tolist(),
            tally.verified[write].tolist(),
            tally.groups[write].tolist(),
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
