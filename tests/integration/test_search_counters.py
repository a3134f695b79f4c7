"""The agent_counts triggers stay exact under single and bulk writes (as presence flushes do)."""

from __future__ import annotations

import os
from typing import Any

import psycopg

from db.engine import libpq_url
from server.domain.ids import AGENT_PREFIX, new_id


def _counters(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        "SELECT agent_type, status, sum(n) FROM agent_counts GROUP BY 1, 2 HAVING sum(n) <> 0"
    ).fetchall()
    return {(t, s): int(n) for t, s, n in rows}


def _actual(conn: psycopg.Connection[Any]) -> dict[tuple[str, str], int]:
    rows = conn.execute("SELECT agent_type, status, count(*) FROM agents GROUP BY 1, 2").fetchall()
    return {(t, s): int(n) for t, s, n in rows}


def test_counters_match_the_table_through_bulk_changes(database_url: str) -> None:
    ids = [new_id(AGENT_PREFIX) for _ in range(200)]
    with psycopg.connect(libpq_url(database_url)) as conn:
        with conn.cursor().copy(
            "COPY agents (id, display_name, agent_type, public_key) FROM STDIN"
        ) as copy:
            for i, agent_id in enumerate(ids):
                copy.write_row((agent_id, f"Bulk {i}", ("tool", "service")[i % 2], os.urandom(32)))
        # A presence flush: one statement changes the status of many agents.
        conn.execute(
            "UPDATE agents SET status = s.status"
            " FROM unnest(%s::text[], %s::text[]) AS s(id, status) WHERE agents.id = s.id",
            (ids[:150], ["online", "busy", "maintenance"] * 50),
        )
        conn.execute(
            "UPDATE agents SET agent_type = 'orchestrator' WHERE id = ANY(%s)", (ids[:10],)
        )
        conn.execute(
            "UPDATE agents SET trust_score = 5 WHERE id = ANY(%s)", (ids,)
        )  # no-op for counts
        conn.execute("DELETE FROM agents WHERE id = ANY(%s)", (ids[100:130],))
        assert _counters(conn) == _actual(conn)
        conn.rollback()
        assert _counters(conn) == _actual(conn)
