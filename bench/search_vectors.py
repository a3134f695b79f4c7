"""Embeddings of bench-search's 100,000 agents, seeded once and cached under .data/.

The model embeds one agent text in ≈ 3 ms on a quiet core, but ≈ 35 ms on this
shared machine under load: 100,000 agents would take about an hour. So `--embed`
agents (default 3,000, spread over the generator's order) are embedded by the model
for real, and every other agent gets the vector of a really embedded agent with the
same main capability, moved by small noise and normalised again: the index holds
100,000 distinct vectors in the clusters real profiles form, which is what the
HNSW scan's cost depends on. The bench says how many were real.

Rows go in by binary COPY with the HNSW index dropped, which is then built once
(pgvector builds 100k x 384 in about a minute; far slower row by row).
"""

from __future__ import annotations

import pathlib
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

from bench.search_data import generate
from db.engine import libpq_url
from server.embeddings.model import MODEL_ID, load_embedder
from server.embeddings.source import agent_text, source_hash

NOISE = 0.08
BATCH = 64
_INDEX = (
    "CREATE INDEX ix_agent_embeddings_embedding_hnsw ON agent_embeddings"
    " USING hnsw (embedding vector_cosine_ops)"
)


def _vectors(texts: list[str], keys: list[str], real: int, cache: pathlib.Path) -> np.ndarray:
    if cache.exists():
        print(f"reusing cached vectors {cache.name}")
        return np.load(cache)
    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("the embedding model is unavailable: cannot seed vectors")
    step = max(1, len(texts) // real)
    chosen = list(range(0, len(texts), step))[:real]
    started = time.perf_counter()
    embedded = np.zeros((len(chosen), 384), dtype=np.float32)
    for i in range(0, len(chosen), BATCH):
        batch = chosen[i : i + BATCH]
        embedded[i : i + len(batch)] = embedder.embed([texts[j] for j in batch])
        done = i + len(batch)
        rate = done / (time.perf_counter() - started)
        print(f"\rembedded {done}/{len(chosen)} agents ({rate:.0f}/s)", end="", flush=True)
    print()
    by_key: dict[str, list[int]] = {}
    for row, index in enumerate(chosen):
        by_key.setdefault(keys[index], []).append(row)
    rng = np.random.default_rng(20261202)
    vectors = np.zeros((len(texts), 384), dtype=np.float32)
    for index, key in enumerate(keys):
        rows = by_key.get(key) or [int(rng.integers(len(chosen)))]
        base = embedded[rows[int(rng.integers(len(rows)))]]
        moved = base + rng.normal(0, NOISE / np.sqrt(384), 384).astype(np.float32)
        vectors[index] = moved / np.linalg.norm(moved)
    for row, index in enumerate(chosen):
        vectors[index] = embedded[row]
    np.save(cache, vectors)
    return vectors


def seed_vectors(url: str, data: pathlib.Path, count: int, real: int) -> None:
    with psycopg.connect(libpq_url(url)) as conn:
        have = int((conn.execute("SELECT count(*) FROM agent_embeddings").fetchone() or (0,))[0])
        if have >= count:
            print(f"reusing {have} cached agent embeddings")
            return
        names = dict(conn.execute("SELECT id, display_name FROM capabilities").fetchall())
        agents = list(generate(count))
        texts = [
            agent_text(a.display_name, a.description, a.tags, [names[c] for c in a.capabilities])
            for a in agents
        ]
        keys = [a.capabilities[0] for a in agents]
        vectors = _vectors(texts, keys, real, data / f"vectors-{MODEL_ID}-{count}-{real}.npy")
        register_vector(conn)
        started = time.perf_counter()
        conn.execute("TRUNCATE agent_embeddings")
        conn.execute("DROP INDEX IF EXISTS ix_agent_embeddings_embedding_hnsw")
        with conn.cursor().copy(
            "COPY agent_embeddings (agent_id, model_id, embedding, source_hash)"
            " FROM STDIN WITH (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["text", "text", "vector", "text"])
            for agent, text, vector in zip(agents, texts, vectors, strict=True):
                copy.write_row((agent.agent_id, MODEL_ID, vector, source_hash(MODEL_ID, text)))
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute(_INDEX)
        conn.commit()
        print(f"stored {count} vectors ({real} embedded) in {time.perf_counter() - started:.0f} s")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE agent_embeddings")
