"""All SQL of the trust engine and the reputation read side.

The job reads the whole graph in one REPEATABLE READ snapshot: agent ids,
capability ids, every active claim as integer indexes into those lists and
the standing it stored last time, each packed by Postgres into one bytea that
numpy reads in place (no Python object, nor a wire message, per row). It writes
back only what changed, in batches, so a steady state rewrites few rows and
never holds many row locks at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TrustRunRow

# The snapshot comes back as a few values, each a bytea that Postgres packs with
# string_agg of the types' binary send functions (big-endian, fixed width), which
# numpy reads in place: one value instead of a message (and a Python step) per row.
_CLAIM_RECORD = np.dtype(
    [
        ("attester", ">i4"),
        ("subject", ">i4"),
        ("kind", ">i2"),
        ("value", ">f4"),
        ("capability", ">i4"),
    ]
)
_AGENT_RECORD = np.dtype([("verified", "?"), ("score", ">f8")])
# What the job stored last time, by agent index: the fingerprint of the whole row.
STANDING_RECORD = np.dtype([("agent", ">i4"), ("fingerprint", ">i8")])
CAPABILITY_RECORD = np.dtype(
    [
        ("agent", ">i4"),
        ("capability", ">i4"),
        ("positive", ">i4"),
        ("negative", ">i4"),
        ("support", ">f8"),
        ("verified", "?"),
        ("groups", ">i4"),
    ]
)

# Seeds are the active agents an operator verified: a proven domain is identity only.
_SNAPSHOT = """
WITH agent_index AS MATERIALIZED (
    SELECT id, state, verified, trust_score,
           (row_number() OVER (ORDER BY id) - 1)::int4 AS idx
    FROM agents
), capability_index AS MATERIALIZED (
    SELECT id, (row_number() OVER (ORDER BY id) - 1)::int4 AS idx FROM capabilities
)
SELECT
  (SELECT array_agg(id ORDER BY idx) FROM agent_index),
  (SELECT string_agg(
       boolsend(verified AND state = 'active') || float8send(trust_score), ''::bytea
       ORDER BY idx)
   FROM agent_index),
  (SELECT array_agg(id ORDER BY idx) FROM capability_index),
  (SELECT string_agg(
       int4send(a.idx) || int4send(s.idx)
       || int2send((CASE t.kind WHEN 'capability' THEN 0 WHEN 'identity' THEN 1 ELSE 2 END)::int2)
       || float4send((CASE t.kind
              WHEN 'capability' THEN CASE WHEN t.capability_value THEN 1 ELSE 0 END
              WHEN 'identity' THEN 1
              ELSE t.behaviour_score END)::float4)
       || int4send(coalesce(c.idx, -1)), ''::bytea)
   FROM attestations t
   JOIN agent_index a ON a.id = t.attester_id
   JOIN agent_index s ON s.id = t.subject_id
   LEFT JOIN capability_index c ON c.id = t.capability_id
   WHERE t.state = 'active' AND (t.expires_at IS NULL OR t.expires_at > now())
     AND a.state = 'active' AND s.state = 'active'),
  (SELECT string_agg(int4send(a.idx) || int8send(t.fingerprint), ''::bytea)
   FROM agent_trust t
   JOIN agent_index a ON a.id = t.agent_id),
  (SELECT string_agg(
       int4send(a.idx) || int4send(c.idx) || int4send(t.positive_claims)
       || int4send(t.negative_claims) || float8send(t.weighted_support)
       || boolsend(t.verified) || int4send(t.supporting_groups), ''::bytea)
   FROM capability_trust t
   JOIN agent_index a ON a.id = t.agent_id
   JOIN capability_index c ON c.id = t.capability_id),
  (SELECT secret FROM trust_keys WHERE id = 1)
"""
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class GraphSnapshot:
    agent_ids: list[str]
    verified: np.ndarray[Any, np.dtype[np.bool_]]
    scores: np.ndarray[Any, np.dtype[np.float64]]
    capability_ids: list[str]
    claims: np.ndarray[Any, np.dtype[Any]]  # records of _CLAIM_RECORD
    standing: np.ndarray[Any, np.dtype[Any]]  # stored agent_trust, records of STANDING_RECORD
    capability_trust: np.ndarray[Any, np.dtype[Any]]  # records of CAPABILITY_RECORD
    group_secret: bytes  # keys the seed groups (server/trust/groups.py)


def _records(payload: bytes | None, dtype: np.dtype[Any]) -> np.ndarray[Any, np.dtype[Any]]:
    return np.frombuffer(payload, dtype=dtype) if payload else np.empty(0, dtype=dtype)


def _batches(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + BATCH_ROWS] for i in range(0, len(items), BATCH_ROWS)]


# The agent_trust columns the job writes, and the Postgres array type each is sent as.
# Array-valued columns travel as one text each (elements space-joined), since Postgres
# arrays of arrays must be rectangular.
AGENT_TRUST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("agent_id", "text"),
    ("behaviour_average", "float8"),
    ("behaviour_claims", "int4"),
    ("distinct_attesters", "int4"),
    ("component_size", "int4"),
    ("component_seeded", "bool"),
    ("reachable_from_seed", "bool"),
    ("standing_score", "float8"),
    ("behaviour_score", "float8"),
    ("confidence", "float8"),
    ("attesters_with_standing", "int4"),
    ("top_contributors", "text[]"),
    ("top_contributions", "float8[]"),
    ("rated", "bool"),
    ("standing_groups", "int4"),
    ("top_groups", "int4[]"),
    ("top_group_shares", "float8[]"),
    ("behaviour_raters", "text[]"),
    ("behaviour_rater_weights", "float8[]"),
    ("flags", "text[]"),
    ("fingerprint", "int8"),
)


def _select(name: str, kind: str) -> str:
    if kind.endswith("[]"):
        return f"string_to_array(u.{name}, ' ')::{kind}"
    return f"u.{name}"


_UPSERT_AGENT_TRUST = text(
    "INSERT INTO agent_trust ("
    + ", ".join(name for name, _ in AGENT_TRUST_COLUMNS)
    + ") SELECT "
    + ", ".join(_select(name, kind) for name, kind in AGENT_TRUST_COLUMNS)
    + " FROM unnest("
    + ", ".join(
        f"CAST(:{name} AS {'text' if kind.endswith('[]') else kind}[])"
        for name, kind in AGENT_TRUST_COLUMNS
    )
    + ") AS u("
    + ", ".join(name for name, _ in AGENT_TRUST_COLUMNS)
    + ") JOIN agents ON agents.id = u.agent_id ON CONFLICT (agent_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name, _ in AGENT_TRUST_COLUMNS[1:])
)


def _encode_arrays(params: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Array-valued columns as space-joined text, one per row (see AGENT_TRUST_COLUMNS)."""
    arrays = {name for name, kind in AGENT_TRUST_COLUMNS if kind.endswith("[]")}
    return {
        name: [
            " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
            for value in column
        ]
        if name in arrays
        else column
        for name, column in params.items()
    }


class TrustRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load_graph(self) -> GraphSnapshot:
        """Everything the engine needs, and what it wrote last time, from one snapshot."""
        connection = await self._session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"}
        )
        # The claim query hash-joins 1M rows against 100k ids; keep it in memory.
        await connection.execute(text("SET LOCAL work_mem = '128MB'"))
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        async with driver.cursor(binary=True) as cursor:
            await cursor.execute(_SNAPSHOT)
            row = await cursor.fetchone()
        assert row is not None
        ids, agents, capabilities, claims, standing, capability_trust, secret = row
        agent = _records(agents, _AGENT_RECORD)
        return GraphSnapshot(
            agent_ids=list(ids or []),
            verified=agent["verified"].copy(),
            scores=agent["score"].astype(np.float64),
            capability_ids=list(capabilities or []),
            claims=_records(claims, _CLAIM_RECORD),
            standing=_records(standing, STANDING_RECORD),
            capability_trust=_records(capability_trust, CAPABILITY_RECORD),
            group_secret=bytes(secret or b""),
        )

    async def relax_durability(self) -> None:
        """Everything the job writes is derived and rewritten by the next run, so a commit lost
        in a crash costs nothing (the outbox events commit or vanish with their rows); not
        waiting for each WAL flush matters when a cold run writes every agent."""
        await self._session.execute(text("SET LOCAL synchronous_commit = off"))

    async def write_scores(self, agent_ids: list[str], scores: list[float], at: datetime) -> None:
        for ids, values in zip(_batches(agent_ids), _batches(scores), strict=True):
            await self._session.execute(
                text(
                    "UPDATE agents a SET trust_score = u.score, trust_computed_at = :at"
                    " FROM unnest(CAST(:ids AS text[]), CAST(:scores AS float8[])) AS u(id, score)"
                    " WHERE a.id = u.id"
                ),
                {"ids": list(ids), "scores": list(values), "at": at},
            )

    async def upsert_agent_trust(self, rows: list[tuple[Any, ...]]) -> None:
        """rows: one value per name of AGENT_TRUST_COLUMNS; array columns as lists."""
        for batch in _batches(rows):
            columns = [list(c) for c in zip(*batch, strict=True)]
            params = {
                name: column for (name, _), column in zip(AGENT_TRUST_COLUMNS, columns, strict=True)
            }
            await self._session.execute(_UPSERT_AGENT_TRUST, _encode_arrays(params))

    async def delete_agent_trust(self, agent_ids: list[str]) -> None:
        for batch in _batches(agent_ids):
            await self._session.execute(
                text("DELETE FROM agent_trust WHERE agent_id = ANY(CAST(:ids AS text[]))"),
                {"ids": list(batch)},
            )

    async def upsert_capability_trust(self, rows: list[tuple[Any, ...]]) -> None:
        """rows: (agent_id, capability_id, positive, negative, support, verified,
        supporting_groups); also mirrors trust and verified onto agent_capabilities for
        offered capabilities."""
        for batch in _batches(rows):
            columns = [list(c) for c in zip(*batch, strict=True)]
            params = dict(zip("abcdefg", columns, strict=True))
            await self._session.execute(
                text(
                    "INSERT INTO capability_trust (agent_id, capability_id, positive_claims,"
                    " negative_claims, weighted_support, verified, supporting_groups)"
                    " SELECT u.* FROM unnest(CAST(:a AS text[]), CAST(:b AS text[]),"
                    " CAST(:c AS int4[]), CAST(:d AS int4[]), CAST(:e AS float8[]),"
                    " CAST(:f AS bool[]), CAST(:g AS int4[])) AS u(a, b, c, d, e, f, g)"
                    " JOIN agents ON agents.id = u.a"
                    " ON CONFLICT (agent_id, capability_id) DO UPDATE SET"
                    " positive_claims = excluded.positive_claims,"
                    " negative_claims = excluded.negative_claims,"
                    " weighted_support = excluded.weighted_support,"
                    " verified = excluded.verified,"
                    " supporting_groups = excluded.supporting_groups"
                ),
                params,
            )
            await self._mirror_offered(params["a"], params["b"], params["e"], params["f"])

    async def delete_capability_trust(self, pairs: list[tuple[str, str]]) -> None:
        for batch in _batches(pairs):
            agents, capabilities = (list(c) for c in zip(*batch, strict=True))
            await self._session.execute(
                text(
                    "DELETE FROM capability_trust t USING unnest(CAST(:a AS text[]),"
                    " CAST(:b AS text[])) AS u(a, b)"
                    " WHERE t.agent_id = u.a AND t.capability_id = u.b"
                ),
                {"a": agents, "b": capabilities},
            )
            await self._mirror_offered(
                agents, capabilities, [0.0] * len(agents), [False] * len(agents)
            )

    async def _mirror_offered(
        self, agents: list[str], capabilities: list[str], trust: list[float], verified: list[bool]
    ) -> None:
        await self._session.execute(
            text(
                "UPDATE agent_capabilities ac SET trust = u.t, verified = u.v"
                " FROM unnest(CAST(:a AS text[]), CAST(:b AS text[]), CAST(:t AS float8[]),"
                " CAST(:v AS bool[])) AS u(a, b, t, v)"
                " WHERE ac.agent_id = u.a AND ac.capability_id = u.b"
                " AND (ac.trust, ac.verified) IS DISTINCT FROM (u.t, u.v)"
            ),
            {"a": agents, "b": capabilities, "t": trust, "v": verified},
        )

    async def record_run(
        self,
        started_at: datetime,
        finished_at: datetime,
        *,
        agents: int,
        attestations: int,
        seeds: int,
        iterations: int,
    ) -> None:
        await self._session.execute(
            insert(TrustRunRow).values(
                started_at=started_at,
                finished_at=finished_at,
                agents=agents,
                attestations=attestations,
                seeds=seeds,
                iterations=iterations,
            )
        )
        # Keep a short history for operators; reads only need the newest.
        await self._session.execute(
            text("DELETE FROM trust_runs WHERE id < (SELECT max(id) - 99 FROM trust_runs)")
        )

    async def last_run_started_at(self) -> datetime | None:
        result = await self._session.execute(
            select(TrustRunRow.started_at).order_by(TrustRunRow.id.desc()).limit(1)
        )
        return result.scalar_one_or_none()

    async def set_verified(self, agent_id: str, verified: bool = True) -> None:
        """Test and bench helper; operators use AdminService."""
        await self._session.execute(
            text("UPDATE agents SET verified = :v WHERE id = :id"), {"v": verified, "id": agent_id}
        )
