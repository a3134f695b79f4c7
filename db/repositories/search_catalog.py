"""SQL of typeahead, catalog matching, agents by capability and registry statistics."""

from __future__ import annotations

import string
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import AgentCapabilityRow, AgentCountRow, AgentRow, CapabilityRow
from db.repositories.keyset import check_limit
from db.repositories.rows import AGENT_COLUMNS, to_agent
from server.domain.agents import Agent, Page
from server.domain.search import CapabilityCandidate, RegistryStats, Suggestion

_ENGLISH: ColumnElement[Any] = literal_column("'english'::regconfig")
_NAME = func.lower(AgentRow.display_name)
# pg_trgm's word similarity: how well the typed text matches some run of words in the
# name. 0.6 tolerates one wrong letter in a 5-6 letter word and keeps candidate sets small.
# It is pg_trgm's default word_similarity_threshold, which the `<%` index operator uses;
# the explicit check keeps it if a server is configured otherwise.
FUZZY_THRESHOLD = 0.6
FUZZY_MIN_PREFIX = 3
FUZZY_CANDIDATES = 200

# Statements are written once, as text: building a select per keystroke cost more
# worker CPU (~0.5 ms) than Postgres spends answering it.
#
# Byte order, the order of the text_pattern_ops index: ordering by the collation instead
# makes Postgres read and sort every name with the prefix (4,800 rows and ~50 ms for
# "amber" at 100,000 agents) rather than stop after `limit` index entries.
_PREFIX_NAMES = text(
    "SELECT id, display_name FROM agents"
    " WHERE lower(display_name) ~>=~ :low AND lower(display_name) ~<~ :high"
    " ORDER BY lower(display_name) USING ~<~, id LIMIT :limit"
)
# Ranked among at most FUZZY_CANDIDATES similar names: a short prefix with a typo
# ("silve c") is similar to thousands of names, and ranking them all costs tens of
# milliseconds per keystroke. Exact whenever fewer names are similar.
_SIMILAR_NAMES = text(
    "SELECT id, display_name, similarity FROM (SELECT id, display_name,"
    "  word_similarity(:prefix, lower(display_name)) AS similarity FROM agents"
    "  WHERE :prefix <% lower(display_name) AND id <> ALL(CAST(:found AS text[]))"
    "  LIMIT :candidates) candidates"
    " WHERE similarity >= :threshold ORDER BY similarity DESC, id LIMIT :limit"
)


def _prefix_bounds(prefix: str) -> tuple[str, str]:
    """[prefix, prefix with its last character incremented): in byte order (the
    text_pattern_ops order) these are exactly the strings that start with prefix."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


# Characters a typo may add or replace: those of names as people type them.
_TYPED = set(string.ascii_lowercase + string.digits + " -_.'&")

# How many leading characters of the prefix some name starts with (probes: 1, 2, … chars).
_LONGEST_MATCH = text(
    "SELECT max(p.n) FROM unnest(CAST(:lows AS text[]), CAST(:highs AS text[]))"
    " WITH ORDINALITY AS p(low, high, n) WHERE EXISTS (SELECT 1 FROM agents"
    " WHERE lower(display_name) ~>=~ p.low AND lower(display_name) ~<~ p.high)"
)
# The first agents (in prefix-index order) under each variant prefix, most similar first.
_VARIANT_NAMES = text(
    "SELECT a.id, a.display_name, word_similarity(:prefix, lower(a.display_name)) AS similarity"
    " FROM unnest(CAST(:lows AS text[]), CAST(:highs AS text[])) AS p(low, high)"
    " CROSS JOIN LATERAL (SELECT id, display_name FROM agents"
    "  WHERE lower(display_name) ~>=~ p.low AND lower(display_name) ~<~ p.high"
    "  ORDER BY lower(display_name) USING ~<~, id LIMIT :limit) a"
    " GROUP BY a.id, a.display_name ORDER BY similarity DESC, a.id LIMIT :limit"
)


def _bound_arrays(bounds: list[tuple[str, str]]) -> dict[str, list[str]]:
    return {"lows": [low for low, _ in bounds], "highs": [high for _, high in bounds]}


def _edits_at(prefix: str, at: int) -> set[str]:
    """Prefixes one edit away from `prefix` at index `at` (it is shorter than `prefix`)."""
    head, tail = prefix[:at], prefix[at:]
    variants = {head + tail[1:]}  # a letter typed by mistake
    if at > 0:
        variants.add(head[:-1] + tail[0] + head[-1] + tail[1:])  # swapped with the one before
    if len(tail) > 1:
        variants.add(head + tail[1] + tail[0] + tail[2:])  # swapped with the one after
    for letter in _TYPED | set(prefix):
        variants.add(head + letter + tail)  # a letter left out
        variants.add(head + letter + tail[1:])  # a letter mistyped
    variants.discard(prefix)
    variants.discard("")
    return variants


def or_query(text_value: str) -> ColumnElement[Any]:
    """Any of the words of a plain-language request, stemmed and without stop words.

    plainto_tsquery yields `'a' & 'b'`; lexemes are quoted and never contain spaces,
    so turning ` & ` into ` | ` is exact. An empty result (only stop words) matches nothing.
    """
    anded = func.plainto_tsquery(_ENGLISH, text_value)
    return func.replace(cast(anded, Text), " & ", " | ")


class CatalogSearch:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def suggest(self, prefix: str, limit: int) -> list[Suggestion]:
        """Prefix matches from the text_pattern_ops index, then, if that leaves room and
        the prefix is long enough, typo-tolerant matches from the trigram index."""
        low, high = _prefix_bounds(prefix)
        rows = await self._conn.execute(_PREFIX_NAMES, {"low": low, "high": high, "limit": limit})
        found = [Suggestion(r.id, r.display_name, 1.0) for r in rows]
        if len(found) >= limit or len(prefix) < FUZZY_MIN_PREFIX:
            return found
        if not found and (near := await self._one_edit_away(prefix, limit)):
            return near
        fuzzy = await self._conn.execute(
            _SIMILAR_NAMES,
            {
                "prefix": prefix,
                "found": [s.agent_id for s in found],
                "threshold": FUZZY_THRESHOLD,
                "candidates": FUZZY_CANDIDATES,
                "limit": limit - len(found),
            },
        )
        return found + [Suggestion(r.id, r.display_name, float(r.similarity)) for r in fuzzy]

    async def _one_edit_away(self, prefix: str, limit: int) -> list[Suggestion]:
        """Names starting one edit away from a prefix no name starts with, most similar first.

        The typo is taken to sit where the prefix stops matching any name; a letter
        dropped, added, replaced or swapped there gives a few dozen prefixes, each one
        probe of the prefix index. The trigram index instead weighs every name sharing a
        few trigrams with a short prefix (thousands, ~20 ms of Postgres per keystroke), so
        it is left for typos this does not place.
        """
        bounds = [_prefix_bounds(prefix[:n]) for n in range(1, len(prefix) + 1)]
        longest = await self._conn.scalar(_LONGEST_MATCH, _bound_arrays(bounds))
        variants = _edits_at(prefix, int(longest or 0))
        rows = await self._conn.execute(
            _VARIANT_NAMES,
            {
                **_bound_arrays([_prefix_bounds(v) for v in sorted(variants)]),
                "prefix": prefix,
                "limit": limit,
            },
        )
        return [Suggestion(r.id, r.display_name, float(r.similarity)) for r in rows]

    async def capability_candidates(self, request: str) -> list[CapabilityCandidate]:
        """Catalog entries sharing any word with the request, by ts_rank (names weigh most,
        then synonyms, then descriptions). The catalog is small; the GIN index serves it."""
        words = or_query(request)
        query = cast(words, TSQUERY)
        rank = func.ts_rank(CapabilityRow.search_vector, query)
        rows = (
            await self._conn.execute(
                select(CapabilityRow.id, rank.label("rank"))
                .where(words != "", CapabilityRow.search_vector.bool_op("@@")(query))
                .order_by(rank.desc(), CapabilityRow.id)
            )
        ).all()
        return [CapabilityCandidate(r.id, float(r.rank)) for r in rows]

    async def capability_exists(self, capability_id: str) -> bool:
        row = await self._conn.execute(select(literal(1)).where(CapabilityRow.id == capability_id))
        return row.first() is not None

    async def capability_agents(
        self,
        capability_id: str,
        verified_only: bool,
        limit: int,
        cursor: tuple[float, str] | None,
    ) -> Page[tuple[Agent, float]]:
        """Most trusted for the capability first, straight off
        ix_agent_capabilities_capability_id_trust (capability_id, trust DESC, agent_id)."""
        check_limit(limit)
        link = AgentCapabilityRow
        conditions: list[ColumnElement[bool]] = [link.capability_id == capability_id]
        if verified_only:
            conditions.append(link.verified.is_(True))
        if cursor is not None:
            trust, agent_id = cursor
            conditions += [
                link.trust <= trust,
                or_(link.trust < trust, and_(link.trust == trust, link.agent_id > agent_id)),
            ]
        top = (
            select(link.agent_id, link.trust)
            .where(*conditions)
            .order_by(link.trust.desc(), link.agent_id)
            .limit(limit + 1)
            .subquery("top")
        )
        rows = (
            await self._conn.execute(
                select(*AGENT_COLUMNS, top.c.trust.label("capability_trust"))
                .join(top, top.c.agent_id == AgentRow.id)
                .order_by(top.c.trust.desc(), top.c.agent_id)
            )
        ).all()
        kept = rows[:limit]
        next_cursor = None
        if len(rows) > limit:
            next_cursor = (repr(float(kept[-1].capability_trust)), kept[-1].id)
        return Page([(to_agent(r), float(r.capability_trust)) for r in kept], next_cursor)

    async def stats(self) -> RegistryStats:
        """From the agent_counts counters (kept by triggers) and capabilities.agent_count:
        a few hundred small rows, whatever the number of agents, in one round trip."""
        by_type: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_capability: dict[str, int] = {}
        for kind, key, status, n in await self._conn.execute(_STATS):
            if kind == "capability":
                by_capability[key] = int(n)
                continue
            by_type[key] = by_type.get(key, 0) + int(n)
            by_status[status] = by_status.get(status, 0) + int(n)
        return RegistryStats(
            total_agents=sum(by_type.values()),
            by_type=by_type,
            by_status=by_status,
            by_capability=by_capability,
        )


# Built once: (kind, type or capability, status, n) rows of both counters.
_STATS = union_all(
    select(
        literal("agents").label("kind"),
        AgentCountRow.agent_type,
        AgentCountRow.status,
        func.sum(AgentCountRow.n),
    ).group_by(AgentCountRow.agent_type, AgentCountRow.status),
    select(literal("capability"), CapabilityRow.id, literal(None, Text), CapabilityRow.agent_count),
)
