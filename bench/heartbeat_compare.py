"""`make bench-heartbeat BENCH_ARGS=--compare`: heartbeat streams on the registry against a
bare grpc.aio echo of the same method, in one run.

Each repeat runs the echo (bench/heartbeat_echo.py) and then the registry, each on W fresh
worker processes with the same load generators (bench/heartbeat_load.py): N streams open
(one session token each), then every stream beats so that the whole set sends `--rate`
beats a second for `--hold` seconds. Per target it takes the workers' CPU (all threads,
from /proc) per open and per acked beat, and the open rate (streams / seconds until the
last first ack). Ratios are registry over echo within a repeat; the table shows medians.

The registry's Redis cost of an open is counted with MONITOR while a few streams open one
by one from this process: every command a worker sends (scripts' inner calls are told
apart and left out), less the coalesced beat writes (ZADD/HSET/SADD, one pipeline per tick
for all beats of it, counted as `beat writes`).

The scheduler's flush and sweep jobs do not run: what is measured is the serving path.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import grpc
import psycopg
from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import presence_service_pb2_grpc
from redis.asyncio import Redis

from bench import seed
from bench.harness import free_port, listeners, machine, report
from bench.heartbeat import (
    DATA,
    cached_tokens,
    mint_tokens,
    proc_stats,
    reset_presence,
    start_generators,
)
from db.engine import libpq_url
from server.backing import start_embedded_redis

_BEAT_WRITES = {"ZADD", "ZREM", "HSET", "SADD"}
_PROBE_STREAMS = 40


def start_workers(
    args: argparse.Namespace, echo: bool, database_url: str, redis_url: str
) -> tuple[list[subprocess.Popen[bytes]], int]:
    port = free_port()
    command = [
        sys.executable, "-m", "bench.heartbeat", "--role", "server", "--port", str(port),
        "--database-url", database_url, "--redis-url", redis_url,
        "--interval", str(args.interval), "--sweep-interval", "3600",
        *(["--echo"] if echo else []),
    ]  # fmt: skip
    workers = [subprocess.Popen(command) for _ in range(args.workers)]
    deadline = time.monotonic() + 60
    while listeners(port) < args.workers:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            stop_all(workers)
            raise SystemExit("heartbeat workers did not start")
        time.sleep(0.1)
    return workers, port


def stop_all(processes: list[subprocess.Popen[Any]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def one_target(
    args: argparse.Namespace, echo: bool, database_url: str, redis_url: str, token_file: Path
) -> dict[str, float]:
    """Open every stream, then hold them at the beat rate; the workers' CPU of each phase."""
    asyncio.run(reset_presence(redis_url))
    workers, port = start_workers(args, echo, database_url, redis_url)
    pids = [w.pid for w in workers]
    gens = start_generators(port, token_file, args.agents, args.generators, args.channels, 0)
    try:
        cpu0, _ = proc_stats(pids)
        opened = gens.ask({"cmd": "open", "deadline_s": 120.0})
        cpu1, _ = proc_stats(pids)
        held = sum(o["opened"] for o in opened)
        open_s = max(o["open_s"] for o in opened)
        interval = max(0.05, held / args.rate)
        hold = gens.ask({"cmd": "phase", "interval": interval, "duration": args.hold, "silence": 0})
        cpu2, rss = proc_stats(pids)
    finally:
        stop_all(gens.procs)
        stop_all(workers)
    acks = sum(h["acks"] for h in hold)
    latencies = sorted(x for h in hold for x in h["latencies_ms"])
    errors: Counter[str] = Counter()
    for h in [*opened, *hold]:
        errors.update(h["errors"])
    figures = {
        "opened": held,
        "open_s": round(open_s, 2),
        "opens_per_s": round(held / open_s, 1) if open_s else 0.0,
        "cpu_us_per_open": round(1e6 * (cpu1 - cpu0) / max(1, held), 1),
        "beats_per_s": round(acks / max(h["elapsed_s"] for h in hold), 1),
        "cpu_us_per_beat": round(1e6 * (cpu2 - cpu1) / max(1, acks), 1),
        "ack_p50_ms": latencies[len(latencies) // 2] if latencies else 0.0,
        "ack_p99_ms": latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "rss_mb": round(rss, 1),
        "errors": sum(errors.values()),
    }
    name = "echo" if echo else "registry"
    print(
        f"  {name:<8} opened {held} in {open_s:.1f} s ({figures['opens_per_s']:,.0f}/s,"
        f" {figures['cpu_us_per_open']:,.0f} µs CPU each); {figures['beats_per_s']:,.0f} beats/s,"
        f" {figures['cpu_us_per_beat']:,.0f} µs CPU per beat, ack p50"
        f" {figures['ack_p50_ms']:.1f} ms p99 {figures['ack_p99_ms']:.1f} ms;"
        f" errors {dict(errors) or 0}",
        flush=True,
    )
    return figures


async def _probe_opens(port: int, tokens: list[str], opened: asyncio.Event) -> None:
    """Streams opened one after another (first beat acked), closed once `opened` is set
    and the monitor has stopped (a close costs a release, which is no part of an open)."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = presence_service_pb2_grpc.PresenceServiceStub(channel)
        calls = []
        for token in tokens:
            call = stub.Heartbeat(metadata=(("authorization", f"Bearer {token}"),))
            await call.write(pb.HeartbeatRequest(sequence=1, load=0.1))
            await call.read()
            calls.append(call)
        opened.set()
        await asyncio.sleep(1.0)  # the monitor stops meanwhile
        for call in calls:
            await call.done_writing()
            while await call.read() is not grpc.aio.EOF:
                pass


async def _monitored(redis_url: str, port: int, tokens: list[str]) -> Counter[str]:
    """Commands the workers sent while the probe streams opened, by name."""
    monitor_client = Redis.from_url(redis_url)
    seen: Counter[str] = Counter()
    opened = asyncio.Event()
    async with monitor_client.monitor() as monitor:

        async def read() -> None:
            while True:
                entry = await monitor.next_command()
                if entry.get("client_type") == "lua" or "MONITOR" in str(entry.get("command")):
                    continue
                seen[str(entry["command"]).split(" ", 1)[0].upper()] += 1

        reader = asyncio.create_task(read())
        probe = asyncio.create_task(_probe_opens(port, tokens, opened))
        await opened.wait()
        await asyncio.sleep(0.2)  # the last tick's beat writes
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    await probe
    await monitor_client.aclose()
    return seen


def redis_per_open(
    args: argparse.Namespace, database_url: str, redis_url: str, tokens: list[str]
) -> dict[str, float]:
    asyncio.run(reset_presence(redis_url))  # no stream of an earlier run left to replace
    workers, port = start_workers(args, False, database_url, redis_url)
    try:
        time.sleep(1.0)  # the workers' own start-up commands are done
        seen = asyncio.run(_monitored(redis_url, port, tokens))
    finally:
        stop_all(workers)
    opens = {k: v for k, v in seen.items() if k not in _BEAT_WRITES}
    writes = sum(v for k, v in seen.items() if k in _BEAT_WRITES)
    per_open = sum(opens.values()) / len(tokens)
    print(
        f"Redis commands per stream open (MONITOR, {len(tokens)} opens one by one):"
        f" {per_open:.2f} {dict(sorted(opens.items()))}; beat writes {writes / len(tokens):.2f}",
        flush=True,
    )
    return {"redis_commands_per_open": round(per_open, 2)}


def compare(args: argparse.Namespace) -> None:
    print(machine(), flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    DATA.mkdir(parents=True, exist_ok=True)
    database_url = seed.database(DATA.name)
    redis_url, redis_handle = start_embedded_redis(DATA / "redis")
    redis_handle.config_set("save", "")
    try:
        agent_ids = seed.plain_agents(database_url, args.agents)
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute("UPDATE agents SET status = 'offline' WHERE status <> 'offline'")
        token_file = DATA / "tokens.txt"
        tokens = asyncio.run(cached_tokens(redis_url, token_file, len(agent_ids)))
        if tokens is None:
            tokens = asyncio.run(mint_tokens(redis_url, agent_ids))
            token_file.write_text("\n".join(tokens))
        runs: dict[str, list[dict[str, float]]] = {"echo": [], "registry": []}
        for repeat in range(args.repeats):
            print(f"repeat {repeat + 1}:", flush=True)
            for echo in (True, False):
                figures = one_target(args, echo, database_url, redis_url, token_file)
                runs["echo" if echo else "registry"].append(figures)
        probe = redis_per_open(args, database_url, redis_url, tokens[:_PROBE_STREAMS])
    finally:
        redis_handle.shutdown()
    print_table(args, runs, probe)


def print_table(
    args: argparse.Namespace, runs: dict[str, list[dict[str, float]]], probe: dict[str, float]
) -> None:
    def median(target: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[target])

    def ratios(key: str) -> list[float]:
        pairs = zip(runs["registry"], runs["echo"], strict=True)
        return [r[key] / e[key] if e[key] else 0.0 for r, e in pairs]

    def ratio(key: str) -> float:
        return statistics.median(ratios(key))

    print(
        f"\n--- {args.agents} streams, {args.workers} workers, {args.rate} beats/s for"
        f" {args.hold:g} s, median of {args.repeats}; ratio: registry vs echo (range: lowest to"
        " highest repeat)"
    )
    keys = ["opens_per_s", "cpu_us_per_open", "beats_per_s", "cpu_us_per_beat", "ack_p50_ms"]
    print(f"{'figure':<18} {'echo':>10} {'registry':>10} {'ratio':>7} {'range':>10}")
    metrics: dict[str, Any] = {"streams": args.agents, "workers": args.workers}
    for key in [*keys, "ack_p99_ms", "rss_mb"]:
        echo, registry = median("echo", key), median("registry", key)
        spread = f"{min(ratios(key)):.2f}-{max(ratios(key)):.2f}"
        print(f"{key:<18} {echo:>10,.1f} {registry:>10,.1f} {ratio(key):>7.2f} {spread:>10}")
        metrics |= {f"echo_{key}": echo, f"registry_{key}": registry}
    metrics |= {
        "cpu_per_beat_vs_echo": round(ratio("cpu_us_per_beat"), 3),
        "open_rate_vs_echo": round(ratio("opens_per_s"), 3),
        "open_rate_vs_echo_min": round(min(ratios("opens_per_s")), 3),
        "cpu_per_beat_vs_echo_max": round(max(ratios("cpu_us_per_beat")), 3),
        "errors": sum(r["errors"] for target in runs.values() for r in target),
        **probe,
    }
    report("heartbeat", metrics)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--compare", action="store_true", help=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=2500, help="--compare: beats/s in all")
    parser.add_argument("--hold", type=float, default=15.0, help="--compare: seconds held")
    parser.add_argument("--repeats", type=int, default=3, help="--compare: runs per target")


if __name__ == "__main__":
    raise SystemExit("run as `python -m bench.heartbeat --compare`")
