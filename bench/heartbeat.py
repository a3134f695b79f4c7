# ruff: noqa: ASYNC240, E501  (a bench driver: blocking setup steps are fine here)
"""`make bench-heartbeat`: N agents holding heartbeat streams against worker processes,
next to a bare grpc.aio echo held at the same count first.

Seeding: agents are COPYed straight into Postgres and their session tokens minted
straight into Redis with AuthStore.put_session (registering 100k agents through
the API would take longer than the bench). Both live under .data/bench-heartbeat/
and the agents are reused between runs.

Processes: W server workers share one port (SO_REUSEPORT), G load generators
(bench/heartbeat_load.py, one per core) each hold N/G streams over C HTTP/2
connections; this process runs the flush and sweep jobs, samples the workers' and
the generators' CPU and the workers' RSS/PSS apart, and reports. The echo
(bench/heartbeat_echo.py) is held first on the same workers, count and interval, and
the registry's CPU per beat and memory per stream are printed in units of its
(--no-echo skips it; --echo runs only the echo); --compare runs both in one go and prints their ratios
(bench/heartbeat_compare.py); --sweep-repeat K runs only the sweep section.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import uvloop
from redis.asyncio import Redis

from bench import seed
from bench.harness import listeners
from db.engine import create_engine, libpq_url, session_factory
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs.presence_flush import presence_flush
from scheduler.jobs.presence_sweep import presence_sweep
from server.auth.store import AuthStore
from server.backing import BackingServices, start_embedded_redis
from server.domain.agents import AgentStatus
from server.presence.store import PresenceStore, PresenceWrite
from server.settings import Settings

DATA = seed.DATA / "bench-heartbeat"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def mint_tokens(redis_url: str, agent_ids: list[str]) -> list[str]:
    redis = Redis.from_url(redis_url)
    store = AuthStore(redis)
    tokens: list[str] = []
    for start in range(0, len(agent_ids), 100):
        chunk = agent_ids[start : start + 100]
        tokens += await asyncio.gather(*(store.put_session(a, 1, 3600) for a in chunk))
    await redis.aclose()
    return tokens


async def reset_presence(redis_url: str) -> None:
    """Presence of earlier runs goes; sessions stay (they are reused while valid)."""
    redis = Redis.from_url(redis_url)
    batch: list[bytes] = []
    async for key in redis.scan_iter(match="presence*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            await redis.delete(*batch)
            batch = []
    if batch:
        await redis.delete(*batch)
    await redis.aclose()


async def cached_tokens(redis_url: str, token_file: Path, count: int) -> list[str] | None:
    """Tokens of an earlier run, if there are enough and they still have 20 minutes to live."""
    if not token_file.exists() or time.time() - token_file.stat().st_mtime > 40 * 60:
        return None
    tokens = token_file.read_text().split("\n")
    if len(tokens) < count:
        return None
    redis = Redis.from_url(redis_url)
    store = AuthStore(redis)
    valid = all([await store.get_session(t) for t in (tokens[0], tokens[count - 1])])
    await redis.aclose()
    return tokens[:count] if valid else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_memory(pids: list[int]) -> tuple[float, float]:
    """(rss MB, pss MB) summed over the processes: PSS splits pages shared between the
    workers (the forked interpreter's) instead of counting them once per worker."""
    rss = pss = 0.0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024
    return rss, pss


def start_generators(
    port: int, token_file: Path, count: int, generators: int, channels: int, nice: int
) -> Generators:
    """G processes (one per core by default) holding count/G streams over `channels`
    HTTP/2 connections each; `nice` lowers their priority, never the server's."""
    per = -(-count // generators)
    return Generators(
        [
            subprocess.Popen(
                [
                    *(["nice", "-n", str(nice)] if nice else []),
                    sys.executable,
                    "-m",
                    "bench.heartbeat_load",
                    f"127.0.0.1:{port}",
                    str(token_file),
                    str(g * per),
                    str(min(per, count - g * per)),
                    str(channels),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for g in range(generators)
            if g * per < count
        ]
    )


def wait_listening(port: int, workers: list[subprocess.Popen[Any]]) -> None:
    deadline = time.monotonic() + 120
    while listeners(port) < len(workers):
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise SystemExit("heartbeat workers did not start")
        time.sleep(0.2)


def proc_stats(pids: list[int]) -> tuple[float, float]:
    """(cpu seconds, rss MB) summed over the processes."""
    ticks, rss = 0, 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss += int(line.split()[1]) / 1024
    return ticks / os.sysconf("SC_CLK_TCK"), rss


async def serve_worker(args: argparse.Namespace) -> None:
    from server.app import build_server
    from server.worker import settle_heap

    collect_on_signal()
    settings = bench_settings(args)
    app, _ = await build_server(settings, BackingServices(args.database_url, args.redis_url))
    await app.start()
    settle_heap()  # as server/worker.py does
    await asyncio.Event().wait()


def collect_on_signal() -> None:
    """SIGUSR1 collects garbage and hands the heap's free pages back to the system: memory
    per stream is read right after, so neither the garbage an open left behind nor what
    start-up freed (and a stream would reuse without the RSS growing) is counted."""
    libc = ctypes.CDLL(None)

    def settle() -> None:
        gc.collect()
        libc.malloc_trim(0)

    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, settle)
    spent = [0.0, 0.0, 0.0]  # seconds in the collector, per generation
    counts = [0, 0, 0]
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            spent[info["generation"]] += time.perf_counter() - started[0]
            counts[info["generation"]] += 1

    gc.callbacks.append(timed)

    def report_and_exit() -> None:
        """What the collector cost over the worker's life: the pauses behind a tail."""
        print(
            f"worker {os.getpid()}: gc collections {counts}, seconds {[round(x, 2) for x in spent]}",
            file=sys.stderr,
            flush=True,
        )
        os._exit(0)

    loop.add_signal_handler(signal.SIGTERM, report_and_exit)


def settled_memory(pids: list[int]) -> tuple[float, float]:
    for pid in pids:
        os.kill(pid, signal.SIGUSR1)
    time.sleep(1.0)
    return proc_memory(pids)


def bench_settings(args: argparse.Namespace) -> Settings:
    return Settings(
        grpc_port=args.port,
        database_url=args.database_url,
        redis_url=args.redis_url,
        db_pool_size=2,
        heartbeat_interval_s=args.interval,
        presence_ttl_s=args.interval * 3,
        presence_sweep_interval_s=args.sweep_interval,
        presence_flush_interval_s=min(15.0, args.interval),
    )


class Generators:
    def __init__(self, procs: list[subprocess.Popen[str]]) -> None:
        self.procs = procs

    def ask(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
        answers = []
        for proc in self.procs:
            assert proc.stdout is not None
            answers.append(json.loads(proc.stdout.readline()))
        return answers


async def jobs_loop(context: JobContext, stop: asyncio.Event, log: list[dict[str, Any]]) -> None:
    """The scheduler's two presence jobs on their intervals, as the scheduler process runs them."""
    settings = context.settings
    next_flush = time.monotonic() + settings.presence_flush_interval_s
    next_sweep = time.monotonic() + settings.presence_sweep_interval_s
    while not stop.is_set():
        await asyncio.sleep(0.2)
        # A failed run is logged and retried at the next interval, as the scheduler does.
        if time.monotonic() >= next_flush:
            next_flush = time.monotonic() + settings.presence_flush_interval_s
            try:
                log.append({"flush": await presence_flush(context)})
            except Exception as error:
                print(f"flush failed: {error!r}", flush=True)
        if time.monotonic() >= next_sweep:
            next_sweep = time.monotonic() + settings.presence_sweep_interval_s
            try:
                log.append({"sweep": await presence_sweep(context)})
            except Exception as error:
                print(f"sweep failed: {error!r}", flush=True)


async def measure_sweep(context: JobContext, agent_ids: list[str]) -> float:
    """Sweep time for 100,000 entries with 10% expiring, in a namespace of its own."""
    store = PresenceStore(context.redis, "presence-bench-sweep")
    now = time.time()
    ids = (agent_ids * (100_000 // max(1, len(agent_ids)) + 1))[:100_000]
    writes = [
        PresenceWrite(
            f"{a}x{i}" if i >= len(agent_ids) else a,
            AgentStatus.ONLINE,
            0.1,
            now - (context.settings.presence_ttl_s + 60 if i % 10 == 0 else 1),
        )
        for i, a in enumerate(ids)
    ]
    for start in range(0, len(writes), 10_000):
        await store.write(writes[start : start + 10_000])
    await context.redis.delete(store.dirty_key)  # as if a flush had just run
    settings = context.settings.model_copy(update={"presence_namespace": "presence-bench-sweep"})
    started = time.perf_counter()
    figures = await presence_sweep(JobContext(settings, context.engine, context.uow, context.redis))
    elapsed = time.perf_counter() - started
    started = time.perf_counter()
    flushed = await presence_flush(JobContext(settings, context.engine, context.uow, context.redis))
    print(
        f"sweep of 100,000 entries: {figures}; the next flush carried it to Postgres in"
        f" {time.perf_counter() - started:.2f} s: {flushed}",
        flush=True,
    )
    await context.redis.delete(
        *[f"presence-bench-sweep:{k}" for k in ("seen", "state", "dirty", "dirty:flushing")]
    )
    return elapsed


async def offline_events(
    context: JobContext, last_beats: dict[str, float], wait_s: float
) -> list[float]:
    deadline = time.monotonic() + wait_s
    found: dict[str, float] = {}
    while time.monotonic() < deadline and len(found) < len(last_beats):
        with psycopg.connect(libpq_url(context.settings.database_url or "")) as conn:
            rows = conn.execute(
                "SELECT agent_id, extract(epoch FROM created_at) FROM events"
                " WHERE event_type = 'AGENT_STATUS_CHANGED' AND data->>'status' = 'offline'"
                " AND agent_id = ANY(%s)",
                (list(last_beats),),
            ).fetchall()
        found = {a: float(t) for a, t in rows}
        await asyncio.sleep(1.0)
    return [found[a] - last_beats[a] for a in found]


async def sweep_only(args: argparse.Namespace, database_url: str, redis_url: str) -> None:
    """Only the sweep section, repeated: the agents start online in Postgres, as after a run."""
    agent_ids = seed.plain_agents(database_url, args.agents)
    engine = create_engine(database_url, pool_size=4)
    redis = Redis.from_url(redis_url)
    settings = Settings(database_url=database_url, redis_url=redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    times = []
    for _ in range(args.sweep_repeat):
        with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
            conn.execute("UPDATE agents SET status = 'online' WHERE status <> 'online'")
            conn.execute("DELETE FROM events")
            conn.execute("VACUUM ANALYZE agents")
        times.append(await measure_sweep(context, agent_ids))
    print(
        f"sweep of 100,000 entries with 10% expiring: {[round(t, 3) for t in times]} s,"
        f" median {statistics.median(times):.3f} s",
        flush=True,
    )
    await redis.aclose()
    await engine.dispose()


def start_servers(args: argparse.Namespace, echo: bool) -> list[subprocess.Popen[bytes]]:
    common = [
        "--port", str(args.port), "--database-url", args.database_url,
        "--redis-url", args.redis_url, "--interval", str(args.interval),
        "--sweep-interval", str(args.sweep_interval), *(["--echo"] if echo else []),
    ]  # fmt: skip
    return [
        subprocess.Popen([sys.executable, "-m", "bench.heartbeat", "--role", "server", *common])
        for _ in range(args.workers)
    ]


async def hold_phase(
    gens: Generators,
    pids: list[int],
    gen_pids: list[int],
    args: argparse.Namespace,
    held: int,
    base: tuple[float, float],
    silence: int,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every stream beats at the interval for the hold: the servers' CPU per acked beat
    and memory per held stream (growth over `base`, the idle servers'; both read after a
    garbage collection), the generators' CPU apart."""
    cpu0, gen0, t0 = proc_stats(pids)[0], proc_stats(gen_pids)[0], time.perf_counter()
    command = {"cmd": "phase", "interval": args.interval, "duration": args.duration}
    hold = await asyncio.to_thread(gens.ask, command | {"silence": silence})
    elapsed = time.perf_counter() - t0
    cpu_s, gen_s = proc_stats(pids)[0] - cpu0, proc_stats(gen_pids)[0] - gen0
    rss, pss = settled_memory(pids)
    lat = [x for h in hold for x in h["latencies_ms"]]
    acks = sum(h["acks"] for h in hold)
    figures = {
        "live": sum(h["live"] for h in hold),
        "acks": acks,
        "beats_per_s": round(acks / max(h["elapsed_s"] for h in hold), 1),
        "ack_p50_ms": round(percentile(lat, 0.5), 2),
        "ack_p99_ms": round(percentile(lat, 0.99), 2),
        "cpu_pct": round(100 * cpu_s / elapsed, 1),
        "cpu_us_per_beat": round(1e6 * cpu_s / max(1, acks), 1),
        "generator_cpu_pct": round(100 * gen_s / elapsed, 1),
        "rss_mb": round(rss, 1),
        "pss_mb": round(pss, 1),
        "rss_kb_per_stream": round(1024 * (rss - base[0]) / max(1, held), 2),
        "pss_kb_per_stream": round(1024 * (pss - base[1]) / max(1, held), 2),
        "errors": [h["errors"] for h in hold],
    }
    print(
        f"hold {args.duration:g} s at {args.interval:g} s: {acks} acks,"
        f" {figures['beats_per_s']:.0f}/s, p50 {figures['ack_p50_ms']:.1f} ms p99"
        f" {figures['ack_p99_ms']:.1f} ms, errors {figures['errors']}, live {figures['live']};"
        f" servers cpu {figures['cpu_pct']:.0f}% ({figures['cpu_us_per_beat']:.0f} µs per beat),"
        f" rss {rss:.0f} MB pss {pss:.0f} MB ({figures['rss_kb_per_stream']:.1f} /"
        f" {figures['pss_kb_per_stream']:.1f} KB per stream over idle); generators cpu"
        f" {figures['generator_cpu_pct']:.0f}%; load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    return hold, figures


def open_command(args: argparse.Namespace) -> dict[str, Any]:
    """Streams open and wait a random part of the interval before their next beat."""
    return {"cmd": "open", "deadline_s": args.open_deadline, "interval": args.interval}


async def hold_echo(args: argparse.Namespace, token_file: Path, count: int) -> dict[str, Any]:
    """The bare grpc.aio echo held at the same stream count, interval and generators, in
    the same run: what the registry's figures are divided by."""
    args.port = free_port()
    workers = start_servers(args, echo=True)
    pids = [w.pid for w in workers]
    print("echo: a bare grpc.aio bidi echo on the same workers, streams and interval", flush=True)
    try:
        await asyncio.to_thread(wait_listening, args.port, workers)
        base = await asyncio.to_thread(settled_memory, pids)
        gens = start_generators(
            args.port, token_file, count, args.generators, args.channels, args.generator_nice
        )
        try:
            opened = await asyncio.to_thread(gens.ask, open_command(args))
            held = sum(o["opened"] for o in opened)
            open_s = max(o["open_s"] for o in opened)
            print(f"echo: opened {held} of {count} streams in {open_s:.1f} s", flush=True)
            _, figures = await hold_phase(
                gens, pids, [g.pid for g in gens.procs], args, held, base, 0
            )
        finally:
            for proc in gens.procs:
                proc.kill()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(10)
    return figures | {"open_s": round(open_s, 1)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    DATA.mkdir(parents=True, exist_ok=True)
    database_url = seed.database(DATA.name)
    redis_url, redis_handle = start_embedded_redis(DATA / "redis")
    # The embedded Redis snapshots after every 1,000 changes in 15 s: under 100k streams a
    # forked child rewriting the whole data set all the time, on the same two cores.
    # Presence is rebuilt by the next beats anyway; a deployment's Redis has its own config.
    redis_handle.config_set("save", "")
    if args.sweep_repeat:
        try:
            await sweep_only(args, database_url, redis_url)
        finally:
            redis_handle.shutdown()
        return {}
    agent_ids = seed.plain_agents(database_url, args.agents)
    await reset_presence(redis_url)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute(
            "UPDATE agents SET status = 'offline', last_seen_at = NULL WHERE status <> 'offline'"
        )
        conn.execute("DELETE FROM events")
    token_file = DATA / "tokens.txt"
    tokens = await cached_tokens(redis_url, token_file, len(agent_ids))
    if tokens is None:
        started = time.perf_counter()
        tokens = await mint_tokens(redis_url, agent_ids)
        print(
            f"minted {len(tokens)} session tokens in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        token_file.write_text("\n".join(tokens))
    else:
        print(f"reusing {len(tokens)} session tokens", flush=True)

    args.database_url, args.redis_url = database_url, redis_url
    echo = None if args.echo or args.no_echo else await hold_echo(args, token_file, len(tokens))
    args.port = free_port()
    settings = bench_settings(args)
    workers = start_servers(args, args.echo)
    pids = [w.pid for w in workers]
    await asyncio.to_thread(wait_listening, args.port, workers)
    base_rss, base_pss = await asyncio.to_thread(settled_memory, pids)
    gens = start_generators(
        args.port, token_file, len(tokens), args.generators, args.channels, args.generator_nice
    )
    engine = create_engine(database_url, pool_size=4)
    jobs_redis = Redis.from_url(redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), jobs_redis)
    stop = asyncio.Event()
    job_log: list[dict[str, Any]] = []
    if args.echo:  # nothing to flush or sweep: the echo keeps no presence
        stop.set()
    jobs = asyncio.create_task(jobs_loop(context, stop, job_log))
    try:
        opened = await asyncio.to_thread(gens.ask, open_command(args))
        held = sum(o["opened"] for o in opened)
        open_s = max(o["open_s"] for o in opened)
        print(
            f"opened {held} of {len(tokens)} streams in {open_s:.1f} s; failures {sum(o['failed'] for o in opened)}, open attempts refused or failed (retried) {[o.get('open_errors', {}) for o in opened]}, with a retry delay {sum(o.get('retry_delays', 0) for o in opened)}",
            flush=True,
        )
        gen_pids = [g.pid for g in gens.procs]
        hold, figures = await hold_phase(
            gens,
            pids,
            gen_pids,
            args,
            held,
            (base_rss, base_pss),
            args.silence,
        )
        lat = [x for h in hold for x in h["latencies_ms"]]
        rss, beats_per_s, cpu_pct = figures["rss_mb"], figures["beats_per_s"], figures["cpu_pct"]
        per = -(-len(tokens) // args.generators)
        silenced: dict[str, float] = {}
        for g, h in enumerate(hold):
            for index, last in h["silenced_last_beat"].items():
                silenced[agent_ids[g * per + int(index)]] = last
        steps = []
        for rate in args.rates:
            step = await asyncio.to_thread(
                gens.ask,
                {
                    "cmd": "phase",
                    "interval": max(0.05, held / rate),
                    "duration": args.step_duration,
                    "silence": args.silence,
                },
            )
            step_lat = [x for s in step for x in s["latencies_ms"]]
            achieved = sum(s["acks"] for s in step) / max(s["elapsed_s"] for s in step)
            p99 = percentile(step_lat, 0.99)
            steps.append((rate, achieved, p99))
            print(
                f"step target {rate}/s: achieved {achieved:.0f}/s, p50 {percentile(step_lat, 0.5):.1f} ms p99 {p99:.1f} ms, errors {[s['errors'] for s in step]}",
                flush=True,
            )
        sustained = max([a for _, a, p in steps if p <= 100.0], default=0.0)
        crossing = min([a for _, a, p in steps if p > 1000.0], default=None)
        await asyncio.to_thread(
            gens.ask,
            {"cmd": "phase", "interval": args.interval, "duration": 0.5, "silence": args.silence},
        )
        detect: list[float] = []
        sweep_s, false_offline = None, None
        if not args.echo:
            detect = await offline_events(
                context, silenced, args.interval * 3 + args.sweep_interval * 2 + 30
            )
            print(
                f"offline detection for {len(detect)} of {len(silenced)} silenced agents: median {statistics.median(detect) if detect else 0:.1f} s (TTL {args.interval * 3:g} s, sweep every {args.sweep_interval:g} s, flush every {settings.presence_flush_interval_s:g} s)",
                flush=True,
            )
            false_offline = await false_offline_count(context, silenced)
            print(f"offline transitions of agents that kept beating: {false_offline}", flush=True)
            stop.set()
            await jobs
            sweep_s = round(await measure_sweep(context, agent_ids), 3)
            flushes = [j["flush"] for j in job_log if "flush" in j]
            print(f"flush runs: {flushes[-3:]}", flush=True)
    finally:
        stop.set()
        for proc in gens.procs:
            proc.kill()
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(10)
        await jobs_redis.aclose()
        await engine.dispose()
        redis_handle.shutdown()
    metrics: dict[str, Any] = {
        "agents": len(agent_ids),
        "streams_held": held,
        "held_pct": round(100 * figures["live"] / max(1, len(agent_ids)), 3),
        "open_s": round(open_s, 1),
        "interval_s": args.interval,
        "beats_per_s": round(beats_per_s, 1),
        "ack_p50_ms": round(percentile(lat, 0.5), 2),
        "ack_p99_ms": round(percentile(lat, 0.99), 2),
        "max_sustained_beats_per_s": round(sustained, 1),
        "beats_per_s_where_p99_over_1s": None if crossing is None else round(crossing, 1),
        "false_offline": false_offline,
        "sweep_100k_s": sweep_s,
        "offline_detect_s": round(statistics.median(detect), 1) if detect else None,
        "server_rss_mb": round(rss, 1),
        "server_pss_mb": figures["pss_mb"],
        "server_cpu_pct": round(cpu_pct, 1),
        "server_cpu_us_per_beat": figures["cpu_us_per_beat"],
        "rss_kb_per_stream": figures["rss_kb_per_stream"],
        "pss_kb_per_stream": figures["pss_kb_per_stream"],
        "generator_cpu_pct": figures["generator_cpu_pct"],
        "load_average": round(os.getloadavg()[0], 2),
    }
    if echo is not None:
        metrics |= {f"echo_{k}": v for k, v in echo.items() if k != "errors"}
        for key in ("cpu_us_per_beat", "rss_kb_per_stream", "pss_kb_per_stream"):
            ours = figures[key]
            metrics[f"{key}_vs_echo"] = round(ours / echo[key], 3) if echo[key] > 0 else None
    return metrics


async def false_offline_count(context: JobContext, silenced: dict[str, float]) -> int:
    """Offline transitions of agents that never stopped beating."""
    with psycopg.connect(libpq_url(context.settings.database_url or "")) as conn:
        row = conn.execute(
            "SELECT count(*) FROM events WHERE event_type = 'AGENT_STATUS_CHANGED'"
            " AND data->>'status' = 'offline' AND NOT (agent_id = ANY(%s))",
            (list(silenced),),
        ).fetchone()
    return int(row[0]) if row else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", default="bench", choices=["bench", "server"])
    parser.add_argument("--agents", type=int, default=None, help="100,000 (5,000 with --compare)")
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=60.0, help="hold phase, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--generators", type=int, default=os.cpu_count() or 2, help="one per core by default"
    )
    parser.add_argument("--channels", type=int, default=25, help="HTTP/2 connections per generator")
    parser.add_argument(
        "--generator-nice", type=int, default=0, help="nice of the generators (never the server)"
    )
    parser.add_argument(
        "--no-echo", action="store_true", help="skip the echo held first at the same count"
    )
    parser.add_argument("--rates", type=int, nargs="*", default=[4000, 8000, 12000])
    parser.add_argument("--step-duration", type=float, default=10.0)
    parser.add_argument(
        "--silence", type=int, default=25, help="streams per generator that go quiet"
    )
    parser.add_argument("--sweep-interval", type=float, default=10.0)
    parser.add_argument(
        "--open-deadline", type=float, default=300.0, help="seconds to open streams"
    )
    parser.add_argument(
        "--sweep-repeat", type=int, default=0, help="run only the sweep section, this many times"
    )
    parser.add_argument(
        "--echo",
        action="store_true",
        help="workers are a bare grpc.aio echo of Heartbeat: what the machine does at all",
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--redis-url", default="")
    from bench import heartbeat_compare  # (it imports this module)

    heartbeat_compare.add_arguments(parser)
    args = parser.parse_args()
    if args.agents is None:
        args.agents = 5_000 if args.compare else 100_000
    if args.compare:
        heartbeat_compare.compare(args)
        return
    if args.role == "server" and args.echo:
        from bench.heartbeat_echo import serve_echo

        uvloop.run(serve_echo(args.port))
        return
    if args.role == "server":
        uvloop.run(serve_worker(args))
        return
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    print(
        f"machine: nproc {os.cpu_count()}, {cpu}; ulimit -n {__import__('resource').getrlimit(__import__('resource').RLIMIT_NOFILE)[0]}",
        flush=True,
    )
    metrics = uvloop.run(run(args))
    if args.sweep_repeat:
        return
    name = "heartbeat-echo" if args.echo else "heartbeat"  # the echo's figures never pass as ours
    print(json.dumps({"bench": name, "metrics": metrics}))


if __name__ == "__main__":
    main()
