"""Seed 100,000 agents and show the plans of the queries GetAgent and ListAgents run.

Usage: python scripts/explain_100k.py [DATABASE_URL]
Without a URL (argument or DATABASE_URL) it uses an embedded PostgreSQL under
./.data/explain-pg and reuses the rows already seeded there.

The SQL explained is captured from the repository itself while it serves the
calls, so the plans are those of the statements production runs. Exits 1 if
any plan scans the agents table sequentially.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import sys
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from bench import seed
from db.engine import create_engine, session_factory
from db.migrate import upgrade
from db.uow import UnitOfWorkFactory
from server.domain.agents import AgentType

TARGET = 100_000


def database_url() -> str:
    explicit = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DATABASE_URL")
    if explicit:
        return explicit
    return seed.database("explain-pg", "explain")


async def capture(engine: AsyncEngine) -> list[tuple[str, str, Any]]:
    """Serve GetAgent and ListAgents through the repository and record the SQL it sent."""
    sent: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, params))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    uow = UnitOfWorkFactory(session_factory(engine))
    labelled: list[tuple[str, str, Any]] = []

    async def run(label: str, call: Any) -> Any:
        sent.clear()
        async with uow() as work:
            result = await call(work)
        labelled.extend((label, statement, params) for statement, params in sent)
        return result

    first = await run("ListAgents first page", lambda w: w.agents.list_page(50, None, None))
    await run("GetAgent", lambda w: w.agents.get(first.items[0].agent_id))
    await run("ListAgents next page", lambda w: w.agents.list_page(50, first.next_cursor, None))
    async with engine.connect() as conn:
        deep = (
            await conn.exec_driver_sql(
                "SELECT created_at, id FROM agents ORDER BY created_at DESC, id DESC OFFSET 60000"
                " LIMIT 1"
            )
        ).one()
    deep_cursor = (deep.created_at.isoformat(), deep.id)
    await run("ListAgents page 1200", lambda w: w.agents.list_page(50, deep_cursor, None))
    tool = AgentType.TOOL
    typed = await run("ListAgents type=tool", lambda w: w.agents.list_page(50, None, tool))
    await run(
        "ListAgents type=tool next page",
        lambda w: w.agents.list_page(50, typed.next_cursor, tool),
    )
    await run(
        "ListAgents type=tool page 240",
        lambda w: w.agents.list_page(50, deep_cursor, tool),
    )
    event.remove(engine.sync_engine, "before_cursor_execute", record)
    return labelled


async def explain(url: str) -> bool:
    engine = create_engine(url, pool_size=2)
    ok = True
    try:
        statements = await capture(engine)
        async with engine.connect() as conn:
            for label, statement, params in statements:
                rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = "\n".join(row[0] for row in rows)
                seq = "Seq Scan on agents" in plan
                ok = ok and not seq
                print(f"=== {label} ===\n{statement}\n-- params: {params}\n{plan}")
                print(f"-- {'FAIL: Seq Scan on agents' if seq else 'ok: no Seq Scan on agents'}\n")
    finally:
        await engine.dispose()
    return ok


def main() -> int:
    url = database_url()
    upgrade(url)
    seed.realistic_agents(url, TARGET)
    ok = asyncio.run(explain(url))
    print("RESULT:", "no plan contains a Seq Scan on agents" if ok else "SEQ SCAN FOUND")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
