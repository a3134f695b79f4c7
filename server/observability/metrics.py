"""Prometheus metrics of every process (server workers and the scheduler).

With PROMETHEUS_MULTIPROC_DIR set (`python -m server` sets it for its
children), each process writes its samples to files there and one endpoint
serves the sum; without it, the process's own registry is served.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RPC_REQUESTS = Counter(
    "agentregistry_rpc_requests_total",
    "RPCs finished, by method and status code.",
    ["method", "code"],
)
RPC_LATENCY = Histogram(
    "agentregistry_rpc_duration_seconds",
    "RPC duration by method and status code (streams: their whole life).",
    ["method", "code"],
    buckets=_LATENCY_BUCKETS,
)
HEARTBEAT_STREAMS = Gauge(
    "agentregistry_heartbeat_streams", "Open heartbeat streams.", multiprocess_mode="livesum"
)
HEARTBEATS = Counter("agentregistry_heartbeats_total", "Heartbeats acknowledged.")
SWEEP_EXPIRED = Counter(
    "agentregistry_presence_expired_total", "Agents marked offline by the sweep."
)
SWEEP_HELD_BACK = Counter(
    "agentregistry_presence_held_back_total",
    "Expiries the sweep held back (self-preservation).",
)
CACHE_LOOKUPS = Counter("agentregistry_cache_lookups_total", "Read-cache lookups.", ["result"])
RATE_LIMITED = Counter(
    "agentregistry_rate_limited_total", "Calls refused over budget.", ["tier", "method_class"]
)
RATE_LIMIT_FALLBACK = Gauge(
    "agentregistry_rate_limit_fallback",
    "1 while limits are per process because Redis is unreachable.",
    multiprocess_mode="livemax",
)
DB_POOL_CONNECTIONS = Gauge(
    "agentregistry_db_pool_connections",
    "Database pool connections by state.",
    ["state"],
    multiprocess_mode="livesum",
)
JOB_RUNS = Counter(
    "agentregistry_job_runs_total", "Scheduler job runs by outcome.", ["job", "status"]
)
JOB_DURATION = Histogram(
    "agentregistry_job_duration_seconds",
    "Scheduler job run time.",
    ["job"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 300.0),
)
WEBHOOK_BACKLOG = Gauge(
    "agentregistry_webhook_backlog", "Pending webhook deliveries.", multiprocess_mode="mostrecent"
)
