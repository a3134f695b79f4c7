"""bench/report.md and its charts from the results of `make bench`."""

from __future__ import annotations

import argparse
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only; no display on a server
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

HEADER = "| workload | rps | p50 ms | p99 ms | errors | server CPU % | server RSS MB |"
RULE = "|---|---:|---:|---:|---:|---:|---:|"
PERCENTILES = ("p50_ms", "p90_ms", "p99_ms")

UNITS = {
    "heartbeat": "acks/s over held streams; latency is beat to ack",
    "get_agent": "GetAgent, Zipf(1.1) ids over 100,000 agents, cache on",
    "list_agents": "ListAgents pages of 50, following next_page_token to page 40",
    "search_1word": "SearchAgents, one word",
    "search_3word": "SearchAgents, three words",
    "search_filtered": "SearchAgents, one word + type/protocol/min-trust filter",
    "nl_find": "FindAgents, natural-language query",
    "create_attestation": "CreateAttestation, freshly signed behaviour claim, random subject",
    "get_reputation": "GetReputation of a random agent",
    "webhooks": "a burst of 10,000 outbox events to 100 webhooks, delivered in order per"
    " webhook by one scheduler process (bench/webhooks.py as is); latency is commit to"
    " delivery while the burst drains, so it measures the backlog, not one delivery",
}


def machine_lines(load: tuple[float, float, float]) -> list[str]:
    model = "unknown CPU"
    memory = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return [
        f"- CPU: {model}, {os.cpu_count()} cores",
        f"- Memory: {memory}",
        f"- OS: {platform.system()} {platform.release()}, Python {platform.python_version()}",
        f"- Load average at start (1/5/15 min): {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}",
    ]


def _row(row: dict[str, Any]) -> str:
    cpu = f"{row['cpu_pct']:.0f}" if "cpu_pct" in row else "n/a"
    rss = f"{row['rss_mb']:.0f}" if "rss_mb" in row else "n/a"
    return (
        f"| {row['workload']} | {row['rps']:.0f} | {row.get('p50_ms', 0):.1f} |"
        f" {row.get('p99_ms', 0):.1f} | {row['errors']} | {cpu} | {rss} |"
    )


def tables(results: dict[int, list[dict[str, Any]]], shared: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for count, rows in results.items():
        lines += ["", f"### {count} worker{'s' if count > 1 else ''}", "", HEADER, RULE]
        lines += [_row(row) for row in rows]
    if shared:
        lines += ["", "### Webhook delivery (scheduler process; no server workers)", ""]
        lines += [HEADER, RULE, *(_row(row) for row in shared)]
    return lines


def write_charts(results: dict[int, list[dict[str, Any]]], folder: Path) -> list[Path]:
    counts = list(results)
    names = [row["workload"] for row in results[counts[0]]] if counts else []
    if not names:
        return []
    by = {c: {row["workload"]: row for row in rows} for c, rows in results.items()}
    latency = folder / "report-latency.png"
    fig, axes = plt.subplots(1, len(PERCENTILES), figsize=(15, 5), sharey=True, sharex=True)
    width = 0.8 / len(counts)
    for axis, key in zip(axes, PERCENTILES, strict=True):
        for offset, count in enumerate(counts):
            values = [max(by[count].get(n, {}).get(key, 0.0), 0.01) for n in names]
            positions = [i + offset * width for i in range(len(names))]
            axis.barh(positions, values, height=width, label=f"{count} worker(s)")
        axis.set_yticks([i + width * (len(counts) - 1) / 2 for i in range(len(names))], names)
        axis.set_xscale("log")
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
        axis.set_xlabel("ms (log scale, same on every panel)")
        axis.set_title(key.removesuffix("_ms"))
        axis.grid(axis="x", which="both", alpha=0.3)
    every = [row.get(k, 0.0) for rows in results.values() for row in rows for k in PERCENTILES]
    axes[0].set_xlim(left=max(min(v for v in every if v > 0) / 2, 0.01) if any(every) else 0.1)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper right")
    fig.suptitle("Latency percentiles per workload, 1 vs 2 workers (concurrency 32)")
    fig.tight_layout()
    fig.savefig(latency, dpi=110)
    plt.close(fig)
    throughput = folder / "report-throughput.png"
    fig, axis = plt.subplots(figsize=(10, 5))
    for offset, count in enumerate(counts):
        values = [by[count].get(n, {}).get("rps", 0.0) for n in names]
        positions = [i + offset * width for i in range(len(names))]
        axis.barh(positions, values, height=width, label=f"{count} worker(s)")
    axis.set_yticks([i + width * (len(counts) - 1) / 2 for i in range(len(names))], names)
    axis.invert_yaxis()
    axis.set_xlabel("requests (acks) per second")
    axis.grid(axis="x", alpha=0.3)
    axis.legend(loc="lower right")
    axis.set_title("Throughput per workload, 1 vs 2 workers")
    fig.tight_layout()
    fig.savefig(throughput, dpi=110)
    plt.close(fig)
    return [latency, throughput]


def write_report(
    path: Path,
    results: dict[int, list[dict[str, Any]]],
    shared: list[dict[str, Any]],
    args: argparse.Namespace,
    command: str,
    started_at: datetime,
    load: tuple[float, float, float],
    charts: list[Path],
) -> str:
    lines = [
        "# `make bench`: every workload, 1 vs 2 workers",
        "",
        f"Run on {started_at:%Y-%m-%d %H:%M} UTC with `{command}`.",
        "",
        "## Machine",
        "",
        *machine_lines(load),
        "",
        "## Setup",
        "",
        "- Registry: 100,000 agents (bench/search_data.py) and 1,000,000 attestations"
        " (bench/trust.py's graph), trust scores computed once; embedded PostgreSQL and"
        " Redis under .data/bench-all/ (seeded once, reused).",
        f"- Server: N `python -m server.worker` processes sharing one port (SO_REUSEPORT),"
        f" N in {{{args.workers}}}; rate limits off (RATE_LIMIT_ENABLED=false) because the load"
        " generator is one address standing for many clients; cache on.",
        f"- Load: a separate process per workload, {args.channels} connections,"
        f" {args.concurrency} concurrent callers (closed loop), {args.duration:g} s measured"
        f" after a 1.5 s warm-up. Heartbeats: {args.streams} held streams beating every"
        f" {args.beat_interval:g} s.",
        "- Server CPU % is summed over the workers (100 % = one core), from /proc over the"
        " load process's life (warm-up included); RSS is the peak of the workers' sum.",
        "- Closed loop: every caller waits for its reply, so p50 is mostly queueing"
        f" (about {args.concurrency} / rps) once the server or PostgreSQL is saturated.",
        "",
        "Workloads:",
        "",
        *(f"- `{name}`: {text}" for name, text in UNITS.items()),
        "",
        "## Results",
        *tables(results, shared),
        "",
        "## Charts",
        "",
        *(f"![{chart.stem}]({chart.name})" for chart in charts),
        "",
        "## Noise",
        "",
        "One run on a small shared machine: the server workers, PostgreSQL, Redis and the"
        " load generator all compete for the same cores, so a second worker gains only what"
        " the database and the load generator leave free, and figures move by 10-30 %"
        " between runs. Compare shapes (which workload is slow, where a second worker"
        " helps), not single digits. Python's client is itself a bottleneck for the"
        " cheapest calls.",
        "",
    ]
    text = "\n".join(lines)
    path.write_text(text)
    return text


def print_table(text: str) -> None:
    start = text.index("## Results")
    end = text.index("## Charts")
    print(text[start:end].strip())
