"""The trust engine alone on a synthetic graph of any size: time and peak memory.

Usage: python -m bench.trust --engine [--agents N] [--attestations M] [--repeat R]
(`make bench-trust BENCH_ARGS="--engine --agents 1000000 --attestations 10000000"`)

Builds the graph in numpy with the shape `make bench-trust` seeds into Postgres (1%
seeds, uniform attesters, popularity-skewed subjects, 25% capability / 15% identity /
60% behaviour claims) and runs `compute` in a child process per repeat, so each peak
RSS is one computation's own (graph arrays included, plus interpreter and imports).
No database: this is the part of a recomputation that grows with the graph.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import numpy as np

from bench.harness import machine
from server.trust.engine import TrustGraph, compute

CAPABILITIES = 50


def synthetic(agents: int, claims: int, seed: int = 7) -> TrustGraph:
    rng = np.random.default_rng(seed)
    popularity = rng.permutation(agents)
    attester = rng.integers(0, agents, claims)
    subject = popularity[(agents * rng.random(claims) ** 2).astype(np.int64)]
    keep = attester != subject
    attester, subject = attester[keep], subject[keep]
    kind = rng.choice(3, size=attester.size, p=[0.25, 0.15, 0.60]).astype(np.int8)
    score = rng.integers(30, 101, attester.size).astype(np.float64)
    positive = (rng.random(attester.size) < 0.85).astype(np.float64)
    value = np.select([kind == 0, kind == 1], [positive, 1.0], score)
    capability = np.where(kind == 0, rng.integers(0, CAPABILITIES, attester.size), -1)
    return TrustGraph(
        agents=agents,
        capabilities=CAPABILITIES,
        verified=rng.random(agents) < 0.01,
        attester=attester.astype(np.int64),
        subject=subject.astype(np.int64),
        kind=kind,
        value=value,
        capability=capability.astype(np.int64),
        group=rng.integers(0, 1 << 30, agents),
    )


def child(agents: int, claims: int) -> dict[str, Any]:
    graph = synthetic(agents, claims)
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    result = compute(graph)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "graph_rss_mb": built,
        "iterations": result.iterations,
        "claims": int(graph.attester.size),
    }


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench.trust --engine")
    parser.add_argument("--agents", type=int, default=100_000)
    parser.add_argument("--attestations", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.agents, args.attestations)))
        return
    print(f"machine: {machine()} (shared with other work; figures are noisy)")
    runs = []
    for _ in range(args.repeat):
        output = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.trust",
                "--engine",
                "--child",
                "--agents",
                str(args.agents),
                "--attestations",
                str(args.attestations),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        ).stdout
        runs.append(json.loads(output.strip().splitlines()[-1]))
    seconds = statistics.median(r["seconds"] for r in runs)
    each = ", ".join(f"{r['seconds']:.2f}" for r in runs)
    peak = max(r["peak_rss_mb"] for r in runs)
    print(
        f"engine on {args.agents} agents, {runs[0]['claims']} claims: median {seconds:.2f} s "
        f"over {len(runs)} runs ({each} s), "
        f"{runs[0]['iterations']} iterations; peak RSS {peak:.0f} MB "
        f"(graph built: {runs[0]['graph_rss_mb']:.0f} MB)"
    )
    metrics = {
        "agents": args.agents,
        "attestations": runs[0]["claims"],
        "engine_s": round(seconds, 2),
        "engine_runs_s": [round(r["seconds"], 2) for r in runs],
        "peak_rss_mb": round(peak, 1),
    }
    print(json.dumps({"bench": "trust-engine", "metrics": metrics}))
