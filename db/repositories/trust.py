"""All SQL of the trust engine and the reputation read side.

The job reads the whole graph in one REPEATABLE READ snapshot: agent ids,
capability ids and every active claim as integer indexes into those lists,
streamed with a binary COPY that numpy parses in place (no Python object per
claim). It writes back only what changed, in batches, so a steady state
rewrites few rows and never holds many row locks at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AgentRow, AgentTrustRow, CapabilityTrustRow, TrustRunRow

# Binary COPY: 19-byte header, then per tuple an int16 field count and, per field,
# an int32 length and the value (all big-endian). Every field below is fixed-width
# and non-null, so tuples have one size and numpy reads them as records.
_HEADER_BYTES = 19
_TRAILER_BYTES = 2
_CLAIM_RECORD = np.dtype(
    [
        ("fields", ">i2"),
        ("l_attester", ">i4"),
        ("attester", ">i4"),
        ("l_subject", ">i4"),
        ("subject", ">i4"),
        ("l_kind", ">i4"),
        ("kind", ">i2"),
        ("l_value", ">i4"),
        ("value", ">f4"),
        ("l_capability", ">i4"),
        ("capability", ">i4"),
    ]
)
_CLAIMS_COPY = """
COPY (
    WITH agent_index AS (
        SELECT id, state, (row_number() OVER (ORDER BY id) - 1)::int4 AS idx FROM agents
    ), capability_index AS (
        SELECT id, (row_number() OVER (ORDER BY id) - 1)::int4 AS idx FROM capabilities
    )
    SELECT a.idx, s.idx,
           (CASE t.kind WHEN 'capability' THEN 0 WHEN 'identity' THEN 1 ELSE 2 END)::int2,
           (CASE t.kind
                WHEN 'capability' THEN CASE WHEN t.capability_value THEN 1 ELSE 0 END
                WHEN 'identity' THEN 1
                ELSE t.behaviour_score END)::float4,
           coalesce(c.idx, -1)::int4
    FROM attestations t
    JOIN agent_index a ON a.id = t.attester_id
    JOIN agent_index s ON s.id = t.subject_id
    LEFT JOIN capability_index c ON c.id = t.capability_id
    WHERE t.state = 'active' AND (t.expires_at IS NULL OR t.expires_at > now())
      AND a.state = 'active' AND s.state = 'active'
) TO STDOUT (FORMAT binary)
"""
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class GraphSnapshot:
    agent_ids: list[str]
    verified: np.ndarray[Any, np.dtype[np.bool_]]
    scores: np.ndarray[Any, np.dtype[np.float64]]
    capability_ids: list[str]
    claims: np.ndarray[Any, np.dtype[Any]]  # records of _CLAIM_RECORD
    agent_trust: dict[str, tuple[Any, ...]]
    capability_trust: dict[tuple[str, str], tuple[Any, ...]]


def parse_claims(payload: bytes | bytearray) -> np.ndarray[Any, np.dtype[Any]]:
    body = memoryview(payload)[_HEADER_BYTES : len(payload) - _TRAILER_BYTES]
    return np.frombuffer(body, dtype=_CLAIM_RECORD)


def _batches(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + BATCH_ROWS] for i in range(0, len(items), BATCH_ROWS)]


class TrustRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load_graph(self) -> GraphSnapshot:
        """Everything the engine needs, from one consistent snapshot."""
        connection = await self._session.connection(
            execution_options={"isolation_level": "REPEATABLE READ"}
        )
        # The claim query hash-joins 1M rows against 100k ids; keep it in memory.
        await connection.execute(text("SET LOCAL work_mem = '128MB'"))
        agents = (
            await connection.execute(
                select(
                    AgentRow.id,
                    (AgentRow.verified | AgentRow.domain_verified_at.is_not(None))
                    & (AgentRow.state == "active"),
                    AgentRow.trust_score,
                ).order_by(AgentRow.id)
            )
        ).all()
        capability_ids = list(
            (await connection.execute(text("SELECT id FROM capabilities ORDER BY id"))).scalars()
        )
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        payload = bytearray()
        async with driver.cursor() as cursor, cursor.copy(_CLAIMS_COPY) as copy:
            async for chunk in copy:
                payload += chunk
        agent_trust = {
            row[0]: tuple(row[1:])
            for row in await connection.execute(
                select(
                    AgentTrustRow.agent_id,
                    AgentTrustRow.behaviour_average,
                    AgentTrustRow.behaviour_claims,
                    AgentTrustRow.distinct_attesters,
                    AgentTrustRow.component_size,
                    AgentTrustRow.component_seeded,
                    AgentTrustRow.reachable_from_seed,
                    AgentTrustRow.standing_score,
                    AgentTrustRow.behaviour_score,
                    AgentTrustRow.confidence,
                    AgentTrustRow.attesters_with_standing,
                    # As text: parsing 100k pairs of arrays costs more than the rest.
                    func.array_to_string(AgentTrustRow.top_contributors, " "),
                    func.array_to_string(AgentTrustRow.top_contributions, " "),
                )
            )
        }
        capability_trust = {
            (row[0], row[1]): tuple(row[2:])
            for row in await connection.execute(
                select(
                    CapabilityTrustRow.agent_id,
                    CapabilityTrustRow.capability_id,
                    CapabilityTrustRow.positive_claims,
                    CapabilityTrustRow.negative_claims,
                    CapabilityTrustRow.weighted_support,
                    CapabilityTrustRow.verified,
                )
            )
        }
        return GraphSnapshot(
            agent_ids=[row.id for row in agents],
            verified=np.fromiter((row[1] for row in agents), dtype=bool, count=len(agents)),
            scores=np.fromiter(
                (row.trust_score for row in agents), dtype=np.float64, count=len(agents)
            ),
            capability_ids=capability_ids,
            claims=parse_claims(payload) if payload else np.empty(0, dtype=_CLAIM_RECORD),
            agent_trust=agent_trust,
            capability_trust=capability_trust,
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
        """rows: (agent_id, behaviour_average, behaviour_claims, distinct_attesters,
        component_size, component_seeded, reachable_from_seed, standing_score,
        behaviour_score, confidence, attesters_with_standing, top_contributors,
        top_contributions); the two last space-joined (ids; shares as Postgres prints them)."""
        for batch in _batches(rows):
            columns = [list(c) for c in zip(*batch, strict=True)]
            await self._session.execute(
                text(
                    "INSERT INTO agent_trust (agent_id, behaviour_average, behaviour_claims,"
                    " distinct_attesters, component_size, component_seeded, reachable_from_seed,"
                    " standing_score, behaviour_score, confidence, attesters_with_standing,"
                    " top_contributors, top_contributions)"
                    " SELECT u.a, u.b, u.c, u.d, u.e, u.f, u.g, u.h, u.i, u.j, u.k,"
                    " string_to_array(u.l, ' ')::text[],"
                    " string_to_array(u.m, ' ')::float8[]"
                    " FROM unnest(CAST(:a AS text[]), CAST(:b AS float8[]),"
                    " CAST(:c AS int4[]), CAST(:d AS int4[]), CAST(:e AS int4[]),"
                    " CAST(:f AS bool[]), CAST(:g AS bool[]), CAST(:h AS float8[]),"
                    " CAST(:i AS float8[]), CAST(:j AS float8[]), CAST(:k AS int4[]),"
                    " CAST(:l AS text[]), CAST(:m AS text[]))"
                    " AS u(a, b, c, d, e, f, g, h, i, j, k, l, m)"
                    " JOIN agents ON agents.id = u.a"
                    " ON CONFLICT (agent_id) DO UPDATE SET"
                    " behaviour_average = excluded.behaviour_average,"
                    " behaviour_claims = excluded.behaviour_claims,"
                    " distinct_attesters = excluded.distinct_attesters,"
                    " component_size = excluded.component_size,"
                    " component_seeded = excluded.component_seeded,"
                    " reachable_from_seed = excluded.reachable_from_seed,"
                    " standing_score = excluded.standing_score,"
                    " behaviour_score = excluded.behaviour_score,"
                    " confidence = excluded.confidence,"
                    " attesters_with_standing = excluded.attesters_with_standing,"
                    " top_contributors = excluded.top_contributors,"
                    " top_contributions = excluded.top_contributions"
                ),
                dict(zip("abcdefghijklm", columns, strict=True)),
            )

    async def delete_agent_trust(self, agent_ids: list[str]) -> None:
        for batch in _batches(agent_ids):
            await self._session.execute(
                text("DELETE FROM agent_trust WHERE agent_id = ANY(CAST(:ids AS text[]))"),
                {"ids": list(batch)},
            )

    async def upsert_capability_trust(self, rows: list[tuple[Any, ...]]) -> None:
        """rows: (agent_id, capability_id, positive, negative, support, verified); also
        mirrors trust and verified onto agent_capabilities for offered capabilities."""
        for batch in _batches(rows):
            columns = [list(c) for c in zip(*batch, strict=True)]
            params = dict(zip("abcdef", columns, strict=True))
            await self._session.execute(
                text(
                    "INSERT INTO capability_trust (agent_id, capability_id, positive_claims,"
                    " negative_claims, weighted_support, verified)"
                    " SELECT u.* FROM unnest(CAST(:a AS text[]), CAST(:b AS text[]),"
                    " CAST(:c AS int4[]), CAST(:d AS int4[]), CAST(:e AS float8[]),"
                    " CAST(:f AS bool[])) AS u(a, b, c, d, e, f)"
                    " JOIN agents ON agents.id = u.a"
                    " ON CONFLICT (agent_id, capability_id) DO UPDATE SET"
                    " positive_claims = excluded.positive_claims,"
                    " negative_claims = excluded.negative_claims,"
                    " weighted_support = excluded.weighted_support,"
                    " verified = excluded.verified"
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
