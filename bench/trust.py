"""Trust at scale: 100,000 agents, 1,000,000 attestations.

Usage: python -m bench.trust   (or `make bench-trust`); `--engine [--agents N
--attestations M]` times the engine alone on a synthetic graph (bench/trust_engine.py).

Seeds an embedded PostgreSQL under .data/bench-trust/ with COPY once and reuses
it afterwards. Then:
  1. a cold full recomputation (stored scores and standings reset first, so every
     row is written) and a steady-state one (nothing changed: after the run that
     clears the flags of the cold run's sharp moves), each in a child
     process so its peak RSS is the recomputation's own (plus interpreter and imports);
  2. GetReputation and ListLeaderboard latency through a real server and channel
     (sequential calls from one client in this process, after a warm-up).
The seeded signatures are random bytes: the bench measures the graph, not Ed25519.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import psycopg

from bench import seed
from bench.harness import machine
from db.engine import create_engine, libpq_url, session_factory
from db.uow import UnitOfWorkFactory

AGENTS = 100_000
ATTESTATIONS = 1_000_000
SEED_SHARE = 0.01
DATA = pathlib.Path(".data/bench-trust")
REPUTATION_CALLS = 2_000
LEADERBOARD_CALLS = 400
LEADERBOARD_DEPTH = 20


def reset_standing(url: str) -> None:
    """Make the next run a cold one: every score and standing row gets written."""
    with psycopg.connect(libpq_url(url)) as conn:
        conn.execute("UPDATE agents SET trust_score = 0, trust_computed_at = NULL")
        conn.execute("UPDATE agent_capabilities SET trust = 0, verified = false")
        conn.execute("TRUNCATE agent_trust, capability_trust, trust_runs")
        conn.execute("DELETE FROM events WHERE event_type = 'CAPABILITY_VERIFIED'")
        conn.commit()
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE agents, agent_capabilities")


async def _recompute_once(url: str) -> dict[str, Any]:
    from redis.asyncio import Redis

    from scheduler.context import JobContext
    from scheduler.jobs.trust_recompute import recompute
    from server.settings import Settings

    engine = create_engine(url, pool_size=2)
    context = JobContext(
        Settings(database_url=url), engine, UnitOfWorkFactory(session_factory(engine)), Redis()
    )
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cpu = time.process_time()
    started = time.perf_counter()
    figures = await recompute(context)
    seconds = time.perf_counter() - started
    cpu_s = time.process_time() - cpu
    await engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "seconds": seconds,
        "cpu_s": cpu_s,
        "peak_rss_mb": peak,
        "rss_before_mb": rss_before,
        **figures,
    }


def recompute_in_child(url: str) -> dict[str, Any]:
    output = subprocess.run(
        [sys.executable, "-m", "bench.trust", "--recompute", url],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


PHASES = ("read_s", "engine_s", "compare_s", "write_s", "cpu_s")


def split(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median of each phase over the runs (the phases of one run need not add up to its median)."""
    return {phase: round(statistics.median(r[phase] for r in runs), 2) for phase in PHASES}


def describe_split(figures: dict[str, float]) -> str:
    return (
        f"read {figures['read_s']:.2f} s, engine {figures['engine_s']:.2f} s, "
        f"compare {figures['compare_s']:.2f} s, write {figures['write_s']:.2f} s; "
        f"job CPU {figures['cpu_s']:.2f} s"
    )


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered), p99


async def latencies(url: str) -> dict[str, float]:
    import grpc
    from agentregistry.v1 import attestation_service_pb2 as pb
    from agentregistry.v1 import attestation_service_pb2_grpc

    from server.app import build_server
    from server.backing import BackingServices, start_embedded_redis
    from server.settings import Settings

    redis_url, redis_handle = start_embedded_redis((DATA / "redis").resolve())
    backing = BackingServices(url, redis_url, _owned=[redis_handle])
    settings = Settings(
        grpc_port=0, database_url=url, redis_url=redis_url, rate_limit_enabled=False
    )
    app, port = await build_server(settings, backing)
    await app.start()
    with psycopg.connect(libpq_url(url)) as conn:
        sample = [r[0] for r in conn.execute("SELECT id FROM agents ORDER BY random() LIMIT 3000")]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            reputation = attestation_service_pb2_grpc.ReputationServiceStub(channel)
            for agent_id in sample[:200]:  # warm-up: pool, caches, code paths
                await reputation.GetReputation(
                    pb.GetReputationRequest(name=f"agents/{agent_id}/reputation")
                )
            get_ms: list[float] = []
            for agent_id in sample[:REPUTATION_CALLS]:
                started = time.perf_counter()
                await reputation.GetReputation(
                    pb.GetReputationRequest(name=f"agents/{agent_id}/reputation")
                )
                get_ms.append((time.perf_counter() - started) * 1000)
            board_ms: list[float] = []
            token = ""
            depth = 0
            while len(board_ms) < LEADERBOARD_CALLS:
                started = time.perf_counter()
                page = await reputation.ListLeaderboard(
                    pb.ListLeaderboardRequest(page_size=50, page_token=token)
                )
                board_ms.append((time.perf_counter() - started) * 1000)
                depth += 1
                token = page.next_page_token if depth < LEADERBOARD_DEPTH else ""
                depth = depth if token else 0
    finally:
        await app.stop(0)
        backing.close()
    get_p50, get_p99 = percentiles(get_ms)
    board_p50, board_p99 = percentiles(board_ms)
    return {
        "get_reputation_p50_ms": round(get_p50, 2),
        "get_reputation_p99_ms": round(get_p99, 2),
        "leaderboard_p50_ms": round(board_p50, 2),
        "leaderboard_p99_ms": round(board_p99, 2),
        "get_reputation_rps": round(len(get_ms) / (sum(get_ms) / 1000), 1),
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--engine":
        from bench import trust_engine

        trust_engine.main(sys.argv[2:])
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--recompute":
        import uvloop

        print(json.dumps(uvloop.run(_recompute_once(sys.argv[2]))))
        return
    print(f"machine: {machine()} (shared with other work; figures are noisy)")
    url = seed.database(DATA.name, "bench_trust")
    seed.trust_graph(url, seed.scaled(AGENTS), seed.scaled(ATTESTATIONS), seed_share=SEED_SHARE)
    cold_runs, steady_runs = [], []
    for _ in range(3):
        reset_standing(url)
        cold_runs.append(recompute_in_child(url))
        # The run after a cold one clears the SCORE_MOVED_SHARPLY flags the reset caused
        # (every score moved from 0): it rewrites every reputation, so it is not steady.
        recompute_in_child(url)
        steady_runs.append(recompute_in_child(url))
    cold = sorted(cold_runs, key=lambda r: r["seconds"])[1]
    steady = sorted(steady_runs, key=lambda r: r["seconds"])[1]
    cold_split, steady_split = split(cold_runs), split(steady_runs)
    print(
        "recompute cold (every row written), median of 3: "
        f"{cold['seconds']:.2f} s, peak RSS {cold['peak_rss_mb']:.0f} MB "
        f"(after imports {cold['rss_before_mb']:.0f} MB), runs "
        + ", ".join(f"{r['seconds']:.2f}" for r in cold_runs)
        + f" s; {cold['iterations']} iterations, {cold['seeds']} seeds, "
        f"{cold['scores_changed']} scores and {cold['standing_changed']} standings written, "
        f"{cold['capabilities_verified']} capabilities verified"
    )
    print(f"  cold split (medians): {describe_split(cold_split)}")
    print(
        "recompute steady (nothing changed), median of 3: "
        f"{steady['seconds']:.2f} s, peak RSS {steady['peak_rss_mb']:.0f} MB, runs "
        + ", ".join(f"{r['seconds']:.2f}" for r in steady_runs)
        + f" s; {steady['scores_changed']} scores and {steady['standing_changed']} standings"
        " written"
    )
    print(f"  steady split (medians): {describe_split(steady_split)}")
    print(f"load average after the recomputations: {os.getloadavg()[0]:.2f}")
    import uvloop

    served = uvloop.run(latencies(url))
    print(
        f"GetReputation x{REPUTATION_CALLS}: p50 {served['get_reputation_p50_ms']} ms, "
        f"p99 {served['get_reputation_p99_ms']} ms ({served['get_reputation_rps']} calls/s, "
        "one sequential client)"
    )
    print(
        f"ListLeaderboard x{LEADERBOARD_CALLS} (50 per page, pages 1-{LEADERBOARD_DEPTH}): "
        f"p50 {served['leaderboard_p50_ms']} ms, p99 {served['leaderboard_p99_ms']} ms"
    )
    metrics = {
        "agents": cold["agents"],
        "attestations": cold["attestations"],
        "recompute_s": round(cold["seconds"], 2),
        "recompute_peak_rss_mb": round(cold["peak_rss_mb"], 1),
        "recompute_steady_s": round(steady["seconds"], 2),
        "recompute_steady_peak_rss_mb": round(steady["peak_rss_mb"], 1),
        **{f"recompute_{name}": value for name, value in cold_split.items()},
        **{f"recompute_steady_{name}": value for name, value in steady_split.items()},
        "recompute_runs_s": [round(r["seconds"], 2) for r in cold_runs],
        "recompute_steady_runs_s": [round(r["seconds"], 2) for r in steady_runs],
        "load_average_1m": round(os.getloadavg()[0], 2),
        "get_reputation_p50_ms": served["get_reputation_p50_ms"],
        "get_reputation_p99_ms": served["get_reputation_p99_ms"],
        "leaderboard_p50_ms": served["leaderboard_p50_ms"],
        "leaderboard_p99_ms": served["leaderboard_p99_ms"],
    }
    print(json.dumps({"bench": "trust", "metrics": metrics}))


if __name__ == "__main__":
    main()
