"""Shared helpers of the search e2e tests: unique words, stubs, and stored-column edits.

Trust scores, stored status and verification are written by background jobs
(trust recomputation, presence flush); tests set them directly in Postgres.
"""

from __future__ import annotations

import random
from typing import Any

import psycopg
from agentregistry.v1 import search_service_pb2_grpc

from db.engine import libpq_url


def word(length: int = 10) -> str:
    """A made-up word no other test (or English) uses; letters only, so it stems to itself."""
    return "".join(random.choice("bcdfghjklmnpqrtvwxz") for _ in range(length - 1)) + "o"


def search_stub(channel: Any) -> search_service_pb2_grpc.SearchServiceStub:
    return search_service_pb2_grpc.SearchServiceStub(channel)


def set_columns(database_url: str, agent_name: str, **values: Any) -> None:
    """Set stored columns of one agent (trust_score, status, verified)."""
    assignments = ", ".join(f"{column} = %({column})s" for column in values)
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(
            f"UPDATE agents SET {assignments} WHERE id = %(agent_id)s",  # columns are ours
            {**values, "agent_id": agent_name.removeprefix("agents/")},
        )


def set_capability_trust(
    database_url: str, agent_name: str, capability_id: str, trust: float, verified: bool = False
) -> None:
    with psycopg.connect(libpq_url(database_url)) as conn:
        conn.execute(
            "UPDATE agent_capabilities SET trust = %s, verified = %s"
            " WHERE agent_id = %s AND capability_id = %s",
            (trust, verified, agent_name.removeprefix("agents/"), capability_id),
        )
