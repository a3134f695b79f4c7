"""`make bench-search-quality`: does search find the agent a plain-language request asks for?

Seeds a small registry (its own database under .data/bench-search-quality) with the
agents of bench/data/search_quality_agents.tsv: realistic profiles across many
domains, several offering the same catalog capability, some offering none. Each
request of bench/data/search_quality_requests.tsv names the one agent it asks for;
many share no word with that agent's profile.

The requests fall into two halves by a hash of their text: `tuning` (what ranking
constants may be chosen on) and `test` (held out: only its figures are quoted).
For each half, SearchAgents and FindAgents (through the search service, as the
servicer calls it) rank the agents once by text alone and once hybrid (text +
embeddings). A request scores top-1 when its agent comes first, top-5 when it is
among the first five, and 1/rank (0 past ten) towards MRR@10. `worse` counts the
requests where FindAgents ranks the agent lower than SearchAgents does.

Pure ranking quality: no timing. The last line is JSON.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import string
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import psycopg
import uvloop
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from db.embedded import create_database, drop_database, start_embedded_postgres
from db.engine import create_engine, libpq_url, session_factory
from db.migrate import upgrade
from db.repositories.search import SearchReads
from db.uow import UnitOfWorkFactory
from scheduler.backfill_embeddings import backfill
from scheduler.jobs.embeddings import embed_catalog
from server.domain.agents import AgentProfile, AgentType
from server.domain.ids import AGENT_PREFIX
from server.domain.search import AgentFilter
from server.embeddings.model import Embedder, load_embedder
from server.embeddings.queries import QueryVectors
from server.search.names import NameIndex
from server.search.service import SearchService

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / ".data" / "bench-search-quality"
AGENTS = pathlib.Path(__file__).parent / "data" / "search_quality_agents.tsv"
REQUESTS = pathlib.Path(__file__).parent / "data" / "search_quality_requests.tsv"
DATABASE = "quality"
HALVES = ("tuning", "test")
DEPTH = 10  # results asked for; MRR counts ranks up to here


@dataclass(frozen=True, slots=True)
class BenchAgent:
    key: str
    display_name: str
    capabilities: tuple[str, ...]
    tags: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True)
class Request:
    text: str
    agent: str  # key of the agent it asks for
    half: str


def _rows(path: pathlib.Path) -> list[list[str]]:
    return [
        line.split("\t")
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def _items(text: str) -> tuple[str, ...]:
    return tuple(item for item in text.split(",") if item)


def bench_agents() -> list[BenchAgent]:
    return [
        BenchAgent(key, name, _items(capabilities), _items(tags), description)
        for key, name, capabilities, tags, description in _rows(AGENTS)
    ]


def half_of(text: str) -> str:
    """Fixed by the request's text alone, so adding requests never moves others."""
    return HALVES[hashlib.blake2b(text.encode()).digest()[0] % 2]


def requests() -> list[Request]:
    return [Request(text, agent, half_of(text)) for text, agent in _rows(REQUESTS)]


def labelled() -> list[tuple[str, str]]:
    """(request, agent key) of every request: bench-search's paraphrased workloads."""
    return [(r.text, r.agent) for r in requests()]


_ID_ALPHABET = string.digits + string.ascii_letters


def _agent_id(key: str) -> str:
    """The same id on every run, so ties (every agent starts untrusted) break the same."""
    digest = int.from_bytes(hashlib.blake2b(key.encode()).digest()[:12])
    chars = []
    for _ in range(16):
        digest, index = divmod(digest, len(_ID_ALPHABET))
        chars.append(_ID_ALPHABET[index])
    return AGENT_PREFIX + "".join(chars)


async def seed(uow: UnitOfWorkFactory, agents: list[BenchAgent]) -> dict[str, str]:
    """agent key → agent id."""
    ids = {}
    async with uow() as unit:
        for a in agents:
            key = Ed25519PrivateKey.generate().public_key()
            raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
            profile = AgentProfile(a.display_name, AgentType.SERVICE, a.description, tags=a.tags)
            agent = await unit.agents.add(_agent_id(a.key), profile, raw, list(a.capabilities))
            ids[a.key] = agent.agent_id
        await unit.commit()
    return ids


def wordless(url: str, pending: list[Request], ids: dict[str, str]) -> set[str]:
    """Requests that share no stemmed word (stop words aside) with their agent's
    searchable text: name, description, tags and capabilities."""
    found = set()
    with psycopg.connect(libpq_url(url)) as conn:
        for r in pending:
            row = conn.execute(
                "SELECT search_vector @@ replace(plainto_tsquery('english', %s)::text,"
                " ' & ', ' | ')::tsquery FROM agents WHERE id = %s",
                (r.text, ids[r.agent]),
            ).fetchone()
            if row is not None and not row[0]:
                found.add(r.text)
    return found


Ranked = Callable[[str], Coroutine[Any, Any, list[str]]]


def ranker(service: SearchService, method: str) -> Ranked:
    async def ranked(query: str) -> list[str]:
        if method == "search":
            page, _ = await service.search(query, AgentFilter(), DEPTH, "")
            return [h.agent.agent_id for h in page.hits]
        result, _ = await service.find(query, AgentFilter(), DEPTH, "")
        return [h.agent.agent_id for h in result.page.hits]

    return ranked


def rank_of(agent_id: str, ranked: list[str]) -> int | None:
    return ranked.index(agent_id) + 1 if agent_id in ranked else None


def figures(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "top1": round(sum(r == 1 for r in ranks) / n, 3),
        "top5": round(sum(r is not None and r <= 5 for r in ranks) / n, 3),
        "mrr10": round(sum(1 / r for r in ranks if r is not None) / n, 3),
    }


async def run(embedder: Embedder) -> dict[str, Any]:
    server = start_embedded_postgres(DATA / "postgres")
    drop_database(server, DATABASE)
    url = create_database(server, DATABASE)
    upgrade(url)
    engine = create_engine(url, pool_size=2)
    try:
        uow = UnitOfWorkFactory(session_factory(engine))
        agents = bench_agents()
        ids = await seed(uow, agents)
        await backfill(uow, embedder)
        await embed_catalog(uow, embedder)
        pending = requests()
        no_shared_word = wordless(url, pending, ids)
        result: dict[str, Any] = {"agents": len(agents)}
        for half in HALVES:
            mine = [r for r in pending if r.half == half]
            result[f"{half}_requests"] = len(mine)
            result[f"{half}_no_shared_word"] = sum(r.text in no_shared_word for r in mine)
        for mode, vectors in (("text", QueryVectors(None)), ("hybrid", QueryVectors(embedder))):
            service = SearchService(SearchReads(engine), NameIndex(), vectors)
            ranks: dict[str, list[int | None]] = {}
            for method in ("search", "find"):
                ranking = ranker(service, method)
                ranks[method] = [rank_of(ids[r.agent], await ranking(r.text)) for r in pending]
            for half in HALVES:
                chosen = [i for i, r in enumerate(pending) if r.half == half]
                for method in ("search", "find"):
                    values = figures([ranks[method][i] for i in chosen])
                    for key, value in values.items():
                        result[f"{half}_{method}_{mode}_{key}"] = value
                result[f"{half}_find_worse_{mode}"] = sum(
                    (ranks["find"][i] or DEPTH + 1) > (ranks["search"][i] or DEPTH + 1)
                    for i in chosen
                )
        return result
    finally:
        await engine.dispose()


def report(result: dict[str, Any]) -> None:
    print(f"{result['agents']} agents")
    for half in HALVES:
        print(
            f"\n{half}: {result[f'{half}_requests']} requests,"
            f" {result[f'{half}_no_shared_word']} sharing no word with their agent"
        )
        print(
            f"{'':8} {'text top-1':>11} {'top-5':>7} {'MRR@10':>7}"
            f" {'hybrid top-1':>13} {'top-5':>7} {'MRR@10':>7}"
        )
        for method in ("search", "find"):
            line = f"{method:8}"
            for mode, width in (("text", 11), ("hybrid", 13)):
                prefix = f"{half}_{method}_{mode}"
                line += (
                    f" {result[f'{prefix}_top1']:>{width}.1%} {result[f'{prefix}_top5']:>7.1%}"
                    f" {result[f'{prefix}_mrr10']:>7.3f}"
                )
            print(line)
        print(
            f"find ranks the agent below search: text {result[f'{half}_find_worse_text']},"
            f" hybrid {result[f'{half}_find_worse_hybrid']}"
        )


def main() -> None:
    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("the embedding model is unavailable")
    result = uvloop.run(run(embedder))
    report(result)
    print(json.dumps({"bench": "search-quality", "metrics": result}))


if __name__ == "__main__":
    main()
