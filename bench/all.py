"""`make bench`: every workload against 1 and 2 server workers on one seeded registry.

Seeds (or reuses) 100,000 agents and 1,000,000 attestations under
.data/bench-all/ (bench/seed.py), then for each worker count starts N real
`python -m server.worker` processes sharing one port and runs each workload from
a separate load-generator process (bench/all_load.py; heartbeats through
bench/heartbeat_load.py) while sampling the workers' CPU and RSS from /proc.
The webhook delivery bench (bench/webhooks.py; its own scheduler and database,
no server workers involved) runs once. Writes bench/report.md and PNG charts,
prints the tables, and ends with one JSON line.

Rate limits are off: the load generator is one address standing for many clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import shutil
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from redis.asyncio import Redis

from bench import seed
from bench.all_report import print_table, write_charts, write_report
from bench.harness import start_workers, stop
from bench.heartbeat import proc_stats
from db.engine import libpq_url
from server.auth.store import AuthStore
from server.backing import start_embedded_redis

UNARY = [
    "get_agent",
    "list_agents",
    "search_1word",
    "search_3word",
    "search_filtered",
    "nl_find",
    "create_attestation",
    "get_reputation",
]
WORKLOADS = ["heartbeat", *UNARY, "webhooks"]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per workload")
    parser.add_argument("--workers", default="1,2", help="worker counts to run, comma separated")
    parser.add_argument("--concurrency", type=int, default=32, help="callers per unary workload")
    parser.add_argument("--channels", type=int, default=8, help="connections per load process")
    parser.add_argument("--streams", type=int, default=2000, help="heartbeat streams held")
    parser.add_argument("--beat-interval", type=float, default=1.0, help="seconds between beats")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="subset to run")
    parser.add_argument(
        "--skip-seed-check", action="store_true", help="trust the cache; do not count rows"
    )
    parser.add_argument("--report", default="bench/report.md", help="where the report goes")
    return parser.parse_args()


class Sampler:
    """CPU % (of one core, summed over workers) and peak RSS MB while a workload runs."""

    def __init__(self, pids: list[int]) -> None:
        self._pids = pids
        self._stop = threading.Event()
        self._peak_rss = 0.0
        self._each0 = [proc_stats([pid])[0] for pid in pids]
        self._cpu0, rss = proc_stats(pids)
        self._peak_rss = rss
        self._wall0 = time.perf_counter()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._peak_rss = max(self._peak_rss, proc_stats(self._pids)[1])

    def finish(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        cpu, rss = proc_stats(self._pids)
        wall = time.perf_counter() - self._wall0
        each = [
            proc_stats([pid])[0] - before
            for pid, before in zip(self._pids, self._each0, strict=True)
        ]
        return {
            "cpu_pct": round((cpu - self._cpu0) / wall * 100, 1),
            "cpu_pct_each": [round(c / wall * 100) for c in each],
            "rss_mb": round(max(self._peak_rss, rss), 1),
        }


async def make_plan(redis_url: str, url: str, streams: int) -> dict[str, Any]:
    """Ids to read, attesters with keys and sessions, heartbeat session tokens."""
    with psycopg.connect(libpq_url(url)) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT id FROM agents WHERE id NOT LIKE 'ag_benchattest%' ORDER BY id"
            )
        ]
    redis = Redis.from_url(redis_url)
    store = AuthStore(redis)
    attesters = []
    for index in range(seed.ATTESTERS):
        agent_id = seed.attester_id(index)
        key = seed.attester_key(index).private_bytes_raw().hex()
        attesters.append(
            {"id": agent_id, "key": key, "token": await store.put_session(agent_id, 1, 3600)}
        )
    tokens = [await store.put_session(agent_id, 1, 3600) for agent_id in ids[:streams]]
    await redis.aclose()
    return {"ids": ids, "attesters": attesters, "tokens": tokens}


def run_unary(
    port: int, name: str, args: argparse.Namespace, plan_file: Path, pids: list[int]
) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "bench.all_load", str(port), name, str(args.duration),
        str(args.concurrency), str(args.channels), str(plan_file),
    ]  # fmt: skip
    loader = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the loader's imports and connections, before its warm-up ends
    sampler = Sampler(pids)
    output, _ = loader.communicate(timeout=args.duration + 120)
    usage = sampler.finish()
    if loader.returncode != 0:
        return {"workload": name, "requests": 0, "errors": -1, "rps": 0.0, **usage}
    return {**json.loads(output.strip().splitlines()[-1]), **usage}


def run_heartbeat(
    port: int, args: argparse.Namespace, token_file: Path, pids: list[int]
) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "bench.heartbeat_load", f"127.0.0.1:{port}", str(token_file),
        "0", str(args.streams), str(args.channels),
    ]  # fmt: skip
    loader = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert loader.stdin is not None and loader.stdout is not None

    def ask(command: dict[str, Any]) -> dict[str, Any]:
        assert loader.stdin is not None and loader.stdout is not None
        loader.stdin.write(json.dumps(command) + "\n")
        loader.stdin.flush()
        return dict(json.loads(loader.stdout.readline()))

    opened = ask({"cmd": "open", "deadline_s": 120})
    print(f"  heartbeat: {opened['opened']} streams open in {opened['open_s']:.1f} s", flush=True)
    ask({"cmd": "phase", "interval": args.beat_interval, "duration": 3})  # settle the rhythm
    sampler = Sampler(pids)
    phase = ask({"cmd": "phase", "interval": args.beat_interval, "duration": args.duration})
    usage = sampler.finish()
    loader.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
    loader.stdin.close()
    loader.wait(timeout=60)
    ordered = sorted(phase["latencies_ms"])

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0

    return {
        "workload": "heartbeat",
        "requests": phase["acks"],
        "errors": sum(phase["errors"].values()) + opened["failed"],
        "error_codes": phase["errors"],
        "seconds": phase["elapsed_s"],
        "rps": phase["acks"] / phase["elapsed_s"],
        **{f"p{q:g}_ms": round(pick(q), 2) for q in (50, 90, 99, 99.9)},
        "streams": opened["opened"],
        **usage,
    }


def run_webhooks() -> dict[str, Any]:
    """bench/webhooks.py as it is: 10,000 events, 100 webhooks, a real scheduler process."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bench.webhooks"], capture_output=True, text=True, timeout=600
    )
    seconds = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        print(done.stderr[-2000:], file=sys.stderr)
        return {"workload": "webhooks", "requests": 0, "errors": -1, "rps": 0.0}
    figures = json.loads(lines[-1])["metrics"]
    return {
        "workload": "webhooks",
        "requests": figures["events"],
        "errors": figures["lost"],
        "seconds": seconds,
        "rps": figures["delivered_per_s"],
        "p50_ms": figures["commit_to_delivery_p50_ms"],
        "p99_ms": figures["commit_to_delivery_p99_ms"],
    }


def main() -> None:
    args = arguments()
    chosen = [w for w in args.workloads.split(",") if w]
    unknown = set(chosen) - set(WORKLOADS)
    if unknown:
        raise SystemExit(f"unknown workloads: {', '.join(sorted(unknown))}")
    counts = [int(n) for n in args.workers.split(",") if n]
    started_at = datetime.now(UTC)
    load_at_start = os.getloadavg()
    url = seed.registry_database()
    redis_url, redis_handle = start_embedded_redis(seed.REGISTRY / "redis")
    if not args.skip_seed_check:
        seed.registry(url, redis_url)
    plan = asyncio.run(make_plan(redis_url, url, args.streams))
    plan_file, token_file = seed.REGISTRY / "plan.json", seed.REGISTRY / "tokens.txt"
    plan_file.write_text(json.dumps(plan))
    token_file.write_text("\n".join(plan["tokens"]))
    metrics_dir = (seed.REGISTRY / "metrics").resolve()
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "RATE_LIMIT_ENABLED": "false",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    results: dict[int, list[dict[str, Any]]] = {}
    try:
        for count in counts:
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True)
            workers, port = start_workers(env, count)
            pids = [w.pid for w in workers]
            print(f"{count} worker(s) on 127.0.0.1:{port}, pids {pids}", flush=True)
            rows: list[dict[str, Any]] = []
            try:
                for name in chosen:
                    if name == "heartbeat":
                        rows.append(run_heartbeat(port, args, token_file, pids))
                    elif name in UNARY:
                        rows.append(run_unary(port, name, args, plan_file, pids))
                    else:
                        continue
                    row = rows[-1]
                    print(
                        f"  {name}: {row['rps']:.0f}/s p50 {row.get('p50_ms', 0)} ms"
                        f" p99 {row.get('p99_ms', 0)} ms errors {row['errors']}"
                        f" {row.get('error_codes') or ''} server CPU % per worker"
                        f" {row.get('cpu_pct_each')}",
                        flush=True,
                    )
            finally:
                for worker in workers:
                    stop(worker)
            results[count] = rows
        shared = [run_webhooks()] if "webhooks" in chosen else []
    finally:
        redis_handle.shutdown()  # type: ignore[attr-defined]
    command = "make bench" + (
        f" BENCH_ARGS={shlex.quote(' '.join(sys.argv[1:]))}" if sys.argv[1:] else ""
    )
    charts = write_charts(results, Path(args.report).parent)
    text = write_report(
        Path(args.report), results, shared, args, command, started_at, load_at_start, charts
    )
    print_table(text)
    last = max(counts)
    metrics: dict[str, float] = {}
    for row in [*results[last], *shared]:
        metrics[f"{row['workload']}_rps"] = round(row["rps"], 1)
        metrics[f"{row['workload']}_p50_ms"] = row.get("p50_ms", 0.0)
        metrics[f"{row['workload']}_p99_ms"] = row.get("p99_ms", 0.0)
        metrics[f"{row['workload']}_errors"] = row["errors"]
    for count in counts:
        if count != last:
            for row in results[count]:
                metrics[f"{row['workload']}_rps_{count}w"] = round(row["rps"], 1)
                metrics[f"{row['workload']}_p99_ms_{count}w"] = row.get("p99_ms", 0.0)
    print(json.dumps({"bench": "all", "metrics": metrics}))


if __name__ == "__main__":
    main()
