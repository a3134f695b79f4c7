"""The registry `make bench` measures: 100,000 agents, 1,000,000 attestations, scores.

Seeded once under .data/bench-all/ and reused: the realistic agents of the search
bench (bench/search_data.py, so text search and NL find see real words), the
claim graph of the trust bench (bench/trust.py), then one trust recomputation so
reputations and trust filters have scores. Both generators are seeded, so every
fresh seed holds the same agents and the same graph (attestation ids differ).

On top come ATTESTERS agents with real Ed25519 keys derived from their index,
so the CreateAttestation workload can sign claims the server verifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from bench import search, trust
from db.embedded import create_database, start_embedded_postgres
from db.engine import create_engine, libpq_url, session_factory, with_database
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory

DATA = Path(".data/bench-all")
DATABASE = "bench_all_v1"  # bump when a generator changes
AGENTS = 100_000
ATTESTATIONS = 1_000_000
ATTESTERS = 256


def database_url() -> str:
    """The cached database; Postgres stops when this process exits."""
    server = start_embedded_postgres(DATA / "postgres")
    with psycopg.connect(libpq_url(server), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)
        ).fetchone()
    url = with_database(server, DATABASE) if exists else create_database(server, DATABASE)
    upgrade(url)
    return url


def attester_key(index: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"bench-attester-%d" % index).digest()
    )


def attester_id(index: int) -> str:
    return f"ag_benchattest{index:05d}"


def _count(conn: psycopg.Connection[tuple[object, ...]], table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


async def recompute(url: str, redis_url: str) -> dict[str, Any]:
    """One full trust recomputation, as the scheduler's job runs it."""
    from redis.asyncio import Redis

    from scheduler.context import JobContext
    from scheduler.jobs.trust_recompute import recompute as run
    from server.settings import Settings

    engine = create_engine(url, pool_size=2)
    redis = Redis.from_url(redis_url)
    context = JobContext(
        Settings(database_url=url, redis_url=redis_url),
        engine,
        UnitOfWorkFactory(session_factory(engine)),
        redis,
    )
    started = time.perf_counter()
    try:
        figures = await run(context)
    finally:
        await redis.aclose()
        await engine.dispose()
    return {"seconds": time.perf_counter() - started, **figures}


def seed(url: str, redis_url: str) -> None:
    """Agents, claims, attesters and scores, each step skipped when already there."""
    with psycopg.connect(libpq_url(url)) as conn:
        agents, claims = _count(conn, "agents"), _count(conn, "attestations")
    if agents >= AGENTS + ATTESTERS and claims >= ATTESTATIONS:
        print(f"reusing {agents} agents and {claims} attestations in {DATA}", flush=True)
        return
    if claims:
        raise SystemExit(f"partial seed in {DATA}; delete it and rerun")
    search.seed(url)  # 100,000 realistic agents (skips itself when present)
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM agents ORDER BY created_at, id")]
        catalog = [r[0] for r in conn.execute("SELECT id FROM capabilities ORDER BY id")]
        written = trust.seed_attestations(
            conn, ids, catalog, np.random.default_rng(7), ATTESTATIONS
        )
        with conn.cursor().copy(
            "COPY agents (id, display_name, agent_type, public_key) FROM STDIN"
        ) as copy:
            for index in range(ATTESTERS):
                public = (
                    attester_key(index).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                )
                copy.write_row((attester_id(index), f"Bench Attester {index}", "service", public))
        conn.commit()
    print(f"seeded {written} attestations in {time.perf_counter() - started:.1f} s", flush=True)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    figures = asyncio.run(recompute(url, redis_url))
    print(
        f"trust recomputed in {figures['seconds']:.1f} s ({figures['scores_changed']} scores)",
        flush=True,
    )
