"""EXPLAIN ANALYZE of the SQL each search workload sends, captured from the repository.

Each statement is explained as the server runs it: psycopg prepares a statement on
its fifth run, and Postgres then settles on a generic plan, planned without the
values. A one-off EXPLAIN plans with the values folded in, which hides costs that
only the generic plan has (an expression of a parameter evaluated per row).
"""

from __future__ import annotations

import re
from typing import Any

from psycopg.sql import Literal
from sqlalchemy import event

from db.engine import create_engine
from db.repositories.search import SearchReads
from server.domain.agents import AgentType
from server.domain.search import RANKING, AgentFilter, SemanticQuery
from server.embeddings.model import load_embedder
from server.search.service import boost, understood


async def explain_all(url: str) -> bool:
    engine = create_engine(url, pool_size=2)
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    reads = SearchReads(engine)
    captured: list[tuple[str, list[tuple[str, Any]]]] = []
    filtered = AgentFilter(
        types=(AgentType.SERVICE, AgentType.TOOL), protocols=("mcp",), min_trust_score=40.0
    )
    async with reads() as store:

        async def run(label: str, call: Any) -> Any:
            sent.clear()
            result = await call
            captured.append((label, list(sent)))
            return result

        first = await run(
            "search_1word", store.search("translation", AgentFilter(), RANKING, 20, None)
        )
        await run(
            "search_1word page 2",
            store.search("translation", AgentFilter(), RANKING, 20, first.next_cursor),
        )
        await run(
            "search_3word", store.search("python code review", AgentFilter(), RANKING, 20, None)
        )
        await run("search_filtered", store.search("translation", filtered, RANKING, 20, None))
        embedder = load_embedder()
        if embedder is not None:
            request = "somebody to look after my money"
            semantic = SemanticQuery(embedder.model_id, tuple(embedder.embed_one(request)))
            await run(
                "hybrid_search", store.hybrid(request, semantic, AgentFilter(), RANKING, 20, None)
            )
            common = SemanticQuery(embedder.model_id, tuple(embedder.embed_one("translation")))
            await run(
                "hybrid_search (one common word)",
                store.hybrid("translation", common, AgentFilter(), RANKING, 20, None),
            )
        # Prefixes and one-edit typos are answered from memory (server.search.names).
        await run("typeahead (trigram fallback)", store.catalog.similar_names("swfit trvl", [], 10))
        candidates = await run(
            "nl_find (catalog)", store.catalog.capability_candidates("book me a flight to Lisbon")
        )
        request = "book me a flight to Lisbon"
        boosts = [(m, boost(m)) for m in understood(candidates)]
        await run(
            "nl_find (agents, any word)",
            store.find(request, None, boosts, AgentFilter(), RANKING, 20, None, any_word=True),
        )
        await run(
            "by_capability", store.catalog.capability_agents("travel-booking", False, 20, None)
        )
        await run("stats", store.catalog.stats())
    event.remove(engine.sync_engine, "before_cursor_execute", record)
    clean = True
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("SET plan_cache_mode = force_generic_plan")
            for label, statements in captured:
                for statement, params in statements:
                    prepared, values = _numbered(statement, params)
                    types = [_pg_type(value) for value in values]
                    declared = ", ".join(types)
                    await conn.exec_driver_sql(f"PREPARE explained ({declared}) AS {prepared}")
                    # Literals: a utility statement's own parameters get no types.
                    arguments = ", ".join(
                        f"{Literal(v).as_string(None).replace('%', '%%')}::{t}"
                        for v, t in zip(values, types, strict=True)
                    )
                    rows = await conn.exec_driver_sql(
                        f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE explained({arguments})"
                    )
                    await conn.exec_driver_sql("DEALLOCATE explained")
                    plan = "\n".join(row[0] for row in rows)
                    seq = "Seq Scan on agents" in plan
                    clean = clean and not seq
                    print(
                        f"\n=== EXPLAIN ANALYZE {label} (generic plan) ===\n"
                        f"-- params: {params}\n{plan}"
                    )
            await conn.rollback()
    finally:
        await engine.dispose()
    return clean


def _numbered(statement: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """psycopg's `%(name)s` placeholders as PREPARE's `$1, $2, …`, and their values."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match[1] not in order:
            order.append(match[1])
        return f"${order.index(match[1]) + 1}"

    # `%%` stays: exec_driver_sql hands psycopg a statement it formats (to `%`).
    numbered = re.sub(r"%\((\w+)\)s", number, statement)
    return numbered, [params[name] for name in order]


def _pg_type(value: Any) -> str:
    """PREPARE's declared type of a bound value (Postgres cannot infer a bare `$n * x`)."""
    if isinstance(value, list):
        return "text[]"
    if isinstance(value, str) and value.startswith("["):  # pgvector's text form
        return "vector"
    return {bool: "boolean", int: "bigint", float: "double precision"}.get(type(value), "text")
