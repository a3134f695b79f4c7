"""`make bench-search-quality`: does search find what a paraphrased request asks for?

Seeds a small registry (its own database under .data/bench-search-quality): one
agent per catalog capability, worded as the catalog describes it and offering it.
Every request of bench/data/search_quality.tsv is written to share as few words
as possible with that wording. For each request, SearchAgents and FindAgents
(through the search service, as the servicer calls it) rank the agents, once by
text alone and once hybrid (text + embeddings); a request scores top-1 when the
agent offering its capability comes first, top-5 when it is among the first five.
FindAgents also reports how often its first understood capability is the right one.

Pure ranking quality: no timing. The last line is JSON.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

from bench import seed
from db.engine import create_engine, session_factory
from db.repositories.search import SearchReads
from db.uow import UnitOfWorkFactory
from scheduler.backfill_embeddings import backfill
from scheduler.jobs.embeddings import embed_catalog
from server.domain.search import AgentFilter
from server.embeddings.model import Embedder, load_embedder
from server.embeddings.queries import QueryVectors
from server.search.names import NameIndex
from server.search.service import SearchService

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = ROOT / ".data" / "bench-search-quality"
QUERIES = pathlib.Path(__file__).parent / "data" / "search_quality.tsv"
DATABASE = "quality"


def labelled() -> list[tuple[str, str]]:
    rows = []
    for line in QUERIES.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            query, capability = line.split("\t")
            rows.append((query, capability))
    return rows


Ranked = Callable[[str], Coroutine[Any, Any, tuple[list[str], list[str]]]]


def ranker(service: SearchService, method: str) -> Ranked:
    async def ranked(query: str) -> tuple[list[str], list[str]]:
        if method == "search":
            page, _ = await service.search(query, AgentFilter(), 10, "")
            return [h.agent.agent_id for h in page.hits], []
        result, _ = await service.find(query, AgentFilter(), 10, "")
        return [h.agent.agent_id for h in result.page.hits], [
            m.capability_id for m in result.matched
        ]

    return ranked


async def score(
    ranked: Ranked, queries: list[tuple[str, str]], owners: dict[str, str], *, find: bool
) -> dict[str, float]:
    top1 = top5 = capability = 0
    for query, expected in queries:
        agents, matched = await ranked(query)
        top1 += agents[:1] == [owners[expected]]
        top5 += owners[expected] in agents[:5]
        capability += matched[:1] == [expected]
    n = len(queries)
    figures = {"top1": round(top1 / n, 3), "top5": round(top5 / n, 3)}
    if find:
        figures["capability_top1"] = round(capability / n, 3)
    return figures


async def run(embedder: Embedder) -> dict[str, Any]:
    url = seed.database(DATA.name, DATABASE, fresh=True)
    engine = create_engine(url, pool_size=2)
    try:
        uow = UnitOfWorkFactory(session_factory(engine))
        owners = seed.desks(url)
        await backfill(uow, embedder)
        await embed_catalog(uow, embedder)
        queries = labelled()
        figures: dict[str, Any] = {"queries": len(queries), "agents": len(owners)}
        for mode, vectors in (("text", QueryVectors(None)), ("hybrid", QueryVectors(embedder))):
            service = SearchService(SearchReads(engine), NameIndex(), vectors)
            for method in ("search", "find"):
                result = await score(
                    ranker(service, method), queries, owners, find=method == "find"
                )
                for key, value in result.items():
                    figures[f"{method}_{mode}_{key}"] = value
        return figures
    finally:
        await engine.dispose()


def main() -> None:
    embedder = load_embedder()
    if embedder is None:
        raise SystemExit("the embedding model is unavailable")
    figures = uvloop.run(run(embedder))
    print(f"{figures['queries']} paraphrased requests over {figures['agents']} agents")
    print(f"{'':8} {'text top-1':>11} {'top-5':>7} {'hybrid top-1':>13} {'top-5':>7}")
    for method in ("search", "find"):
        print(
            f"{method:8} {figures[f'{method}_text_top1']:>11.1%}"
            f" {figures[f'{method}_text_top5']:>7.1%}"
            f" {figures[f'{method}_hybrid_top1']:>13.1%} {figures[f'{method}_hybrid_top5']:>7.1%}"
        )
    print(json.dumps({"bench": "search-quality", "metrics": figures}))


if __name__ == "__main__":
    main()
