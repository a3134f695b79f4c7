"""The one seeder every bench uses: a migrated database kept under .data/, filled with COPY
and reused while its rows are there (a generator change gets a new database name).

Datasets:
- `realistic_agents`: agents with real words (bench/search_data.py), so text search and NL
  find see real words; the search, cache and explain benches, and the base of `registry`.
- `plain_agents`: id, name and key only; heartbeat streams need nothing more.
- `trust_graph`: plain agents (1% verified, two capabilities each) and a claim graph.
- `registry`: what `make bench` and the ceiling bench measure: realistic agents, the
  claim graph over them, ATTESTERS agents with real keys, and one trust recomputation.

Only db/ (URLs, the embedded server, migrations) and the id format are taken from the
product; the trust recomputation is the scheduler's own job, imported when it runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from tqdm import tqdm

from bench.search_data import GeneratedAgent, generate
from db.embedded import create_database, drop_database, start_embedded_postgres
from db.engine import libpq_url, with_database
from db.migrate import upgrade
from server.domain.ids import AGENT_PREFIX, new_id

DATA = Path(__file__).resolve().parent.parent / ".data"
# BENCH_SEED_SCALE=0.01 seeds every dataset at 1% (in databases of their own), to check
# that a bench starts and seeds without waiting for the full one.
SCALE = float(os.environ.get("BENCH_SEED_SCALE", "1"))
ATTESTERS = 256
# The `make bench` registry, shared by bench/all.py and bench/ceiling.py.
REGISTRY = DATA / "bench-all"
REGISTRY_AGENTS = 100_000
REGISTRY_CLAIMS = 1_000_000
Connection = psycopg.Connection[Any]


def scaled(size: int) -> int:
    return max(1, round(size * SCALE))


def database(
    folder: str, name: str | None = None, *, keep_running: bool = False, fresh: bool = False
) -> str:
    """The migrated database `name` (None: the server's default one) of the embedded
    Postgres under .data/<folder>/postgres, created on first use (`fresh`: anew)."""
    server = start_embedded_postgres(DATA / folder / "postgres", keep_running=keep_running)
    if name is None:
        url = server
    else:
        if SCALE != 1:
            name = f"{name}_scale_{SCALE:g}".replace(".", "_")
        if fresh:
            drop_database(server, name)
        with psycopg.connect(libpq_url(server), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
        url = with_database(server, name) if exists else create_database(server, name)
    upgrade(url)
    return url


def count(url: str, table: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(row[0]) if row else 0


def catalog(conn: Connection) -> dict[str, str]:
    """Capability id → display name, in id order."""
    return dict(conn.execute("SELECT id, display_name FROM capabilities ORDER BY id").fetchall())


def copy_agents(
    conn: Connection, agents: Iterable[GeneratedAgent], keys: Iterable[bytes] | None = None
) -> int:
    """COPY agents and their capability links, then the catalog's counters; `keys` are
    the public keys in order (default: the id's bytes, unique as ids are)."""
    names = catalog(conn)
    links: list[tuple[str, str, float, bool]] = []
    key_of = iter(keys) if keys is not None else None
    written = 0
    with conn.cursor().copy(
        "COPY agents (id, display_name, description, agent_type, public_key, tags, protocols,"
        " capability_text, status, trust_score, verified, created_at, updated_at) FROM STDIN"
    ) as copy:
        for agent in agents:
            key = next(key_of) if key_of is not None else agent.agent_id.encode().ljust(32, b"\0")
            copy.write_row(
                (
                    agent.agent_id,
                    agent.display_name,
                    agent.description,
                    agent.agent_type,
                    key,
                    agent.tags,
                    agent.protocols,
                    " ".join(names[c] for c in agent.capabilities),
                    agent.status,
                    agent.trust_score,
                    agent.verified,
                    agent.created_at,
                    agent.created_at,
                )
            )
            links += [
                (agent.agent_id, c, t, t > 80)
                for c, t in zip(agent.capabilities, agent.capability_trust, strict=True)
            ]
            written += 1
    with conn.cursor().copy(
        "COPY agent_capabilities (agent_id, capability_id, trust, verified) FROM STDIN"
    ) as copy:
        for link in links:
            copy.write_row(link)
    conn.execute(
        "UPDATE capabilities c SET agent_count = n FROM (SELECT capability_id, count(*) AS n"
        " FROM agent_capabilities GROUP BY capability_id) counted"
        " WHERE counted.capability_id = c.id"
    )
    return written


def plain(
    agent_id: str, name: str, capabilities: list[str] | None = None, *, verified: bool = False
) -> GeneratedAgent:
    capabilities = capabilities or []
    return GeneratedAgent(
        agent_id=agent_id,
        display_name=name,
        description="",
        agent_type="service",
        tags=[],
        protocols=[],
        capabilities=capabilities,
        capability_trust=[0.0] * len(capabilities),
        status="offline",
        trust_score=0.0,
        verified=verified,
        created_at=datetime.now(UTC),
    )


def _analyze(url: str) -> None:
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def realistic_agents(url: str, agents: int) -> None:
    """Tops the table up to `agents` realistic agents (the generator is seeded, so every
    fresh seed holds the same ones)."""
    have = count(url, "agents")
    if have >= agents:
        print(f"reusing {have} seeded agents", flush=True)
        return
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn:
        made = islice(generate(agents), have, None)
        copy_agents(conn, tqdm(made, total=agents - have, desc="agents", unit="agent"))
        conn.commit()
    print(f"seeded {agents - have} agents in {time.perf_counter() - started:.1f} s", flush=True)
    _analyze(url)


def plain_agents(url: str, agents: int) -> list[str]:
    """Tops the table up to `agents` bare agents; the first `agents` ids, in id order."""
    have = count(url, "agents")
    with psycopg.connect(libpq_url(url)) as conn:
        if have < agents:
            made = (
                plain(new_id(AGENT_PREFIX), f"Bench Agent {have + i}") for i in range(agents - have)
            )
            copy_agents(conn, made, (os.urandom(32) for _ in range(agents - have)))
            conn.commit()
            print(f"seeded {agents - have} agents", flush=True)
        else:
            print(f"reusing {have} seeded agents", flush=True)
        rows = conn.execute("SELECT id FROM agents ORDER BY id LIMIT %s", (agents,)).fetchall()
    return [r[0] for r in rows]


def desks(url: str) -> dict[str, str]:
    """One agent per catalog capability, named and described after it: capability id → agent."""
    with psycopg.connect(libpq_url(url)) as conn:
        rows = conn.execute("SELECT id, display_name, description FROM capabilities").fetchall()
        owners = {cid: new_id(AGENT_PREFIX) for cid, _, _ in rows}
        made = []
        for cid, display_name, description in rows:
            desk = plain(owners[cid], f"{display_name} Desk", [cid])
            made.append(dataclasses.replace(desk, description=description))
        copy_agents(conn, made)
        conn.commit()
    return owners


def attestations(
    conn: Connection,
    ids: list[str],
    capability_ids: list[str],
    rng: np.random.Generator,
    claims: int,
) -> int:
    """COPY `claims` claims among `ids`: uniform attesters, popularity-skewed subjects, one
    per (attester, subject, kind, capability); the caller commits. Signatures are random
    bytes: the benches measure the graph, not Ed25519."""
    agents = len(ids)
    draw = int(claims * 1.1)
    popularity = rng.permutation(agents)
    attester = rng.integers(0, agents, draw)
    subject = popularity[(agents * rng.random(draw) ** 2).astype(np.int64)]
    kind = rng.choice(3, size=draw, p=[0.25, 0.15, 0.60])  # capability, identity, behaviour
    capability = np.where(kind == 0, rng.integers(0, len(capability_ids), draw), -1)
    keys = np.stack([attester, subject, kind, capability], axis=1)
    keys = keys[attester != subject]
    _, first = np.unique(keys, axis=0, return_index=True)
    keys = keys[np.sort(first)][:claims]
    score = rng.integers(30, 101, len(keys))
    positive = rng.random(len(keys)) < 0.85
    now = datetime.now(UTC)
    kinds = ("capability", "identity", "behaviour")
    with conn.cursor().copy(
        "COPY attestations (id, attester_id, subject_id, kind, capability_id,"
        " capability_value, identity_value, behaviour_score, issued_at, signature)"
        " FROM STDIN"
    ) as copy:
        rows = tqdm(keys.tolist(), desc="attestations", unit="claim", mininterval=2)
        for row, (a, s, k, c) in enumerate(rows):
            copy.write_row(
                (
                    new_id("at_"),
                    ids[a],
                    ids[s],
                    kinds[k],
                    capability_ids[c] if k == 0 else None,
                    bool(positive[row]) if k == 0 else None,
                    f"org-{s}.example" if k == 1 else None,
                    int(score[row]) if k == 2 else None,
                    now,
                    os.urandom(64),
                )
            )
    return len(keys)


def trust_graph(url: str, agents: int, claims: int, *, seed_share: float = 0.01) -> None:
    """`agents` plain agents (`seed_share` of them verified, two capabilities each) and
    `claims` claims among them, unless already there."""
    have, have_claims = count(url, "agents"), count(url, "attestations")
    if have >= agents and have_claims >= claims:
        print(f"reusing {have} agents and {have_claims} attestations", flush=True)
        return
    if have or have_claims:
        raise SystemExit(f"partial seed in {url}; delete its data folder and rerun")
    rng = np.random.default_rng(7)
    with psycopg.connect(libpq_url(url)) as conn:
        capability_ids = list(catalog(conn))
        ids = [new_id(AGENT_PREFIX) for _ in range(agents)]
        verified = rng.random(agents) < seed_share
        offered = rng.integers(0, len(capability_ids), size=(agents, 2))
        started = time.perf_counter()
        made = (
            plain(
                agent_id,
                f"Bench {index}",
                sorted({capability_ids[c] for c in offered[index].tolist()}),
                verified=bool(verified[index]),
            )
            for index, agent_id in enumerate(ids)
        )
        copy_agents(conn, made, (os.urandom(32) for _ in ids))
        print(f"seeded {agents} agents in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        written = attestations(conn, ids, capability_ids, rng, claims)
        conn.commit()
    print(f"seeded {written} attestations in {time.perf_counter() - started:.1f} s", flush=True)
    _analyze(url)


def attester_key(index: int) -> Ed25519PrivateKey:
    """Derived from the index, so a load process can sign as attester `index`."""
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"bench-attester-%d" % index).digest()
    )


def attester_id(index: int) -> str:
    return f"ag_benchattest{index:05d}"


async def recompute(url: str, redis_url: str) -> dict[str, Any]:
    """One full trust recomputation, as the scheduler's job runs it."""
    from redis.asyncio import Redis

    from db.engine import create_engine, session_factory
    from db.uow import UnitOfWorkFactory
    from scheduler.context import JobContext
    from scheduler.jobs.trust_recompute import recompute as run
    from server.settings import Settings

    engine = create_engine(url, pool_size=2)
    redis = Redis.from_url(redis_url)
    settings = Settings(database_url=url, redis_url=redis_url)
    context = JobContext(settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    started = time.perf_counter()
    try:
        figures = await run(context)
    finally:
        await redis.aclose()
        await engine.dispose()
    return {"seconds": time.perf_counter() - started, **figures}


def registry_database() -> str:
    return database(REGISTRY.name, "bench_all_v1")  # a new name when a generator changes


def registry(url: str, redis_url: str) -> None:
    """Realistic agents, claims among them, ATTESTERS signing agents and scores, each step
    skipped when already there."""
    agents, claims = scaled(REGISTRY_AGENTS), scaled(REGISTRY_CLAIMS)
    have, have_claims = count(url, "agents"), count(url, "attestations")
    if have >= agents + ATTESTERS and have_claims >= claims:
        print(f"reusing {have} agents and {have_claims} attestations", flush=True)
        return
    if have_claims:
        raise SystemExit(f"partial seed in {url}; delete its data folder and rerun")
    realistic_agents(url, agents)
    started = time.perf_counter()
    with psycopg.connect(libpq_url(url)) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM agents ORDER BY created_at, id")]
        written = attestations(conn, ids, list(catalog(conn)), np.random.default_rng(7), claims)
        copy_agents(
            conn,
            (plain(attester_id(i), f"Bench Attester {i}") for i in range(ATTESTERS)),
            (
                attester_key(i).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
                for i in range(ATTESTERS)
            ),
        )
        conn.commit()
    print(f"seeded {written} attestations in {time.perf_counter() - started:.1f} s", flush=True)
    _analyze(url)
    figures = asyncio.run(recompute(url, redis_url))
    print(
        f"trust recomputed in {figures['seconds']:.1f} s ({figures['scores_changed']} scores)",
        flush=True,
    )
