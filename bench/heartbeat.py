# ruff: noqa: ASYNC220, ASYNC240, E501  (a bench driver: blocking setup steps are fine here)
"""`make bench-heartbeat`: N agents holding heartbeat streams against worker processes.

Seeding: agents are COPYed straight into Postgres and their session tokens minted
straight into Redis with AuthStore.put_session (registering 100k agents through
the API would take longer than the bench). Both live under .data/bench-heartbeat/
and the agents are reused between runs.

Processes: W server workers share one port (SO_REUSEPORT), G load generators
(bench/heartbeat_load.py) each hold N/G streams over C channels; this process
runs the flush and sweep jobs, samples the workers' CPU and RSS, and reports.
--echo swaps the workers for a bare grpc.aio echo (bench/heartbeat_echo.py) to
show the machine's own limit; --compare runs both in one go and prints their ratios
(bench/heartbeat_compare.py); --sweep-repeat K runs only the sweep section.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
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

    settings = bench_settings(args)
    app, _ = await build_server(settings, BackingServices(args.database_url, args.redis_url))
    await app.start()
    gc.collect()
    gc.freeze()  # the long-lived startup objects leave the collector's view
    gc.set_threshold(50_000, 50, 100)  # fewer young collections: 25k streams churn many objects
    await asyncio.Event().wait()


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

    args.port, args.database_url, args.redis_url = free_port(), database_url, redis_url
    settings = bench_settings(args)
    common = [
        "--port",
        str(args.port),
        "--database-url",
        database_url,
        "--redis-url",
        redis_url,
        "--interval",
        str(args.interval),
        "--sweep-interval",
        str(args.sweep_interval),
        *(["--echo"] if args.echo else []),
    ]
    workers = [
        subprocess.Popen([sys.executable, "-m", "bench.heartbeat", "--role", "server", *common])
        for _ in range(args.workers)
    ]
    await asyncio.sleep(4.0)
    per = -(-len(tokens) // args.generators)
    gens = Generators(
        [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.heartbeat_load",
                    f"127.0.0.1:{args.port}",
                    str(token_file),
                    str(g * per),
                    str(per),
                    str(args.channels),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for g in range(args.generators)
        ]
    )
    engine = create_engine(database_url, pool_size=4)
    jobs_redis = Redis.from_url(redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), jobs_redis)
    stop = asyncio.Event()
    job_log: list[dict[str, Any]] = []
    if args.echo:  # nothing to flush or sweep: the echo keeps no presence
        stop.set()
    jobs = asyncio.create_task(jobs_loop(context, stop, job_log))
    pids = [w.pid for w in workers]
    try:
        opened = await asyncio.to_thread(
            gens.ask, {"cmd": "open", "deadline_s": args.open_deadline}
        )
        held = sum(o["opened"] for o in opened)
        open_s = max(o["open_s"] for o in opened)
        print(
            f"opened {held} of {len(tokens)} streams in {open_s:.1f} s; failures {sum(o['failed'] for o in opened)}, open attempts that failed (retried) {[o.get('open_errors', {}) for o in opened]}",
            flush=True,
        )
        cpu0, _ = proc_stats(pids)
        gen_pids = [g.pid for g in gens.procs]
        gen_cpu0, _ = proc_stats(gen_pids)
        t0 = time.perf_counter()
        hold = await asyncio.to_thread(
            gens.ask,
            {
                "cmd": "phase",
                "interval": args.interval,
                "duration": args.duration,
                "silence": args.silence,
            },
        )
        cpu1, rss = proc_stats(pids)
        cpu_pct = 100 * (cpu1 - cpu0) / (time.perf_counter() - t0)
        gen_cpu_pct = 100 * (proc_stats(gen_pids)[0] - gen_cpu0) / (time.perf_counter() - t0)
        lat = [x for h in hold for x in h["latencies_ms"]]
        acks = sum(h["acks"] for h in hold)
        beats_per_s = acks / max(h["elapsed_s"] for h in hold)
        errors = [h["errors"] for h in hold]
        live = sum(h["live"] for h in hold)
        print(
            f"hold {args.duration:.0f} s at {args.interval:g} s: {acks} acks, {beats_per_s:.0f}/s, p50 {percentile(lat, 0.5):.1f} ms p99 {percentile(lat, 0.99):.1f} ms, errors {errors}, live streams {live}",
            flush=True,
        )
        print(
            f"server workers: cpu {cpu_pct:.0f}% (of {os.cpu_count()} cores), rss {rss:.0f} MB ({1024 * rss / max(1, held):.1f} KB per stream); load generators: cpu {gen_cpu_pct:.0f}%",
            flush=True,
        )
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
        await asyncio.to_thread(
            gens.ask,
            {"cmd": "phase", "interval": args.interval, "duration": 0.5, "silence": args.silence},
        )
        detect: list[float] = []
        sweep_s = None
        if not args.echo:
            detect = await offline_events(
                context, silenced, args.interval * 3 + args.sweep_interval * 2 + 30
            )
            print(
                f"offline detection for {len(detect)} of {len(silenced)} silenced agents: median {statistics.median(detect) if detect else 0:.1f} s (TTL {args.interval * 3:g} s, sweep every {args.sweep_interval:g} s, flush every {settings.presence_flush_interval_s:g} s)",
                flush=True,
            )
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
    return {
        "agents": len(agent_ids),
        "streams_held": held,
        "interval_s": args.interval,
        "beats_per_s": round(beats_per_s, 1),
        "ack_p50_ms": round(percentile(lat, 0.5), 2),
        "ack_p99_ms": round(percentile(lat, 0.99), 2),
        "max_sustained_beats_per_s": round(sustained, 1),
        "sweep_100k_s": sweep_s,
        "offline_detect_s": round(statistics.median(detect), 1) if detect else None,
        "server_rss_mb": round(rss, 1),
        "server_cpu_pct": round(cpu_pct, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--role", default="bench", choices=["bench", "server"])
    parser.add_argument("--agents", type=int, default=None, help="100,000 (5,000 with --compare)")
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--duration", type=float, default=60.0, help="hold phase, seconds")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generators", type=int, default=4)
    parser.add_argument("--channels", type=int, default=100, help="per generator")
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
