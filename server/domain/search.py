"""Search and discovery values shared by the search service and its repository."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from server.domain.agents import Agent, AgentStatus, AgentType


class CapabilityMatch(enum.StrEnum):
    ANY = "any"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class AgentFilter:
    """Structured filters; empty fields do not filter. Already validated and normalised."""

    capabilities: tuple[str, ...] = ()
    capability_match: CapabilityMatch = CapabilityMatch.ANY
    types: tuple[AgentType, ...] = ()
    protocols: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    statuses: tuple[AgentStatus, ...] = ()
    min_trust_score: float = 0.0
    verified_only: bool = False
    domain_proven_only: bool = False

    @property
    def is_empty(self) -> bool:
        return self == AgentFilter()

    def fingerprint(self) -> str:
        """A stable text form, so a page token is bound to the filters it was issued for."""
        return "|".join(
            [
                ",".join(self.capabilities),
                self.capability_match.value,
                ",".join(t.value for t in self.types),
                ",".join(self.protocols),
                ",".join(self.tags),
                ",".join(s.value for s in self.statuses),
                repr(self.min_trust_score),
                str(self.verified_only),
                str(self.domain_proven_only),
            ]
        )


@dataclass(frozen=True, slots=True)
class Ranking:
    """How the blended score is made; every input is a stored column, so it is repeatable.

    score = text * relevance + trust * trust_score / 100 + online * (status = 'online')

    relevance is ts_rank with normalisation 32 (rank / (rank + 1), so 0 to 1) over the
    weighted vector (A display name 1.0, B tags/protocols/capabilities 0.4, C description
    0.2). Natural-language find uses the capability's confidence as relevance and the
    agent's trust for that capability (agent_capabilities.trust) as trust.
    """

    text: float = 0.6
    trust: float = 0.3
    online: float = 0.1
    # Hybrid search: a cosine similarity below this is no match (0.15 gave the best top-5
    # of bench-search-quality's paraphrases short of admitting most unrelated agents);
    # above it, the semantic
    # relevance (similarity - floor) / (1 - floor) joins the text relevance as
    # 1 - (1 - text) * (1 - semantic), which is the text relevance alone when nothing
    # is semantically close and grows with either.
    semantic_floor: float = 0.15
    # Nearest agents (HNSW) considered besides the text matches: pgvector's default
    # hnsw.ef_search, which bounds what one index scan returns anyway.
    semantic_candidates: int = 40


RANKING = Ranking()


@dataclass(frozen=True, slots=True)
class ScoreCursor:
    """Keyset position in a ranked list: (score DESC, agent_id ASC), plus the first page's
    match count so later pages can repeat it without counting again."""

    score: float
    agent_id: str
    total: int


class MatchReason(enum.StrEnum):
    """How a result (or a matched capability) was found."""

    TEXT = "text"  # its words matched the query's
    SEMANTIC = "semantic"  # its embedding is close to the query's
    CAPABILITY = "capability"  # it offers a capability the request was understood to ask for


@dataclass(frozen=True, slots=True)
class SemanticQuery:
    """The query's embedding and the model that made it (only that model's rows compare)."""

    model_id: str
    vector: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    agent: Agent
    score: float
    text_rank: float
    # Cosine similarity of the agent's and the query's embeddings; 0 when not compared.
    similarity: float = 0.0
    reasons: tuple[MatchReason, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchPage:
    hits: list[SearchHit]
    next_cursor: ScoreCursor | None
    total_estimate: int
    # False when the query was ranked by text alone although semantic search was asked for
    # (the model is unavailable); True otherwise.
    semantic_available: bool = True


@dataclass(frozen=True, slots=True)
class Suggestion:
    agent_id: str
    display_name: str
    similarity: float


@dataclass(frozen=True, slots=True)
class MatchedCapability:
    capability_id: str
    confidence: float
    reasons: tuple[MatchReason, ...] = (MatchReason.TEXT,)


@dataclass(frozen=True, slots=True)
class CapabilityCandidate:
    """A catalog entry the query's words hit, with its raw ts_rank."""

    capability_id: str
    rank: float


@dataclass(frozen=True, slots=True)
class CapabilityNeighbour:
    """A catalog entry near the query in embedding space, with its cosine similarity."""

    capability_id: str
    similarity: float


@dataclass(frozen=True, slots=True)
class FindResult:
    matched: list[MatchedCapability]
    fell_back_to_text: bool
    page: SearchPage


@dataclass(frozen=True, slots=True)
class RegistryStats:
    total_agents: int
    by_type: dict[str, int]
    by_status: dict[str, int]
    by_capability: dict[str, int]
