"""In-memory stand-ins for what the use-case services hold: a unit of work over
dictionaries, a clock that moves when told, and the Redis-backed collaborators
(cache, sessions, the trust signal) reduced to what the services observe.

The repositories follow db/repositories' behaviour, and
tests/service/test_repository_contract.py runs the same checks against both, so
these cannot drift from Postgres unnoticed.
"""

from __future__ import annotations

import copy
import dataclasses
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from db.migrations.catalog_0001 import CATALOG
from db.repositories.keyset import check_limit, decode_timestamp_cursor
from server.auth.store import StoredChallenge, StoredSession
from server.domain import failures
from server.domain.agents import (
    Agent,
    AgentProfile,
    AgentState,
    AgentStatus,
    AgentType,
    Capability,
    Page,
)
from server.domain.api_keys import ApiKey, Plan, Scope
from server.domain.attestations import Attestation, AttestationDraft, AttestationState
from server.domain.changes import ChangeEvent
from server.domain.events import DomainEvent
from server.domain.webhooks import Webhook, WebhookDelivery, WebhookState

T = TypeVar("T")


class FakeClock:
    """Stands still until a test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Tables:
    """Committed rows; a unit of work edits a copy and `commit()` swaps it in."""

    agents: dict[str, Agent] = field(default_factory=dict)
    capabilities: dict[str, Capability] = field(default_factory=dict)
    attestations: dict[str, Attestation] = field(default_factory=dict)
    events: list[ChangeEvent] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_keys: dict[str, tuple[ApiKey, bytes]] = field(default_factory=dict)
    webhooks: dict[str, Webhook] = field(default_factory=dict)
    next_event_id: int = 1

    def copy(self) -> Tables:
        return copy.deepcopy(self)


def catalog() -> dict[str, Capability]:
    """The capability catalog revision 0001 seeds."""
    return {cid: Capability(cid, name, text, tuple(syn), 0) for cid, name, text, syn in CATALOG}


def _newest_first(
    items: Iterable[T],
    created: Callable[[T], datetime],
    key: Callable[[T], str],
    limit: int,
    cursor: tuple[str, ...] | None,
) -> Page[T]:
    """Keyset paging as db/repositories/keyset.py does it: (created_at, id) descending."""
    check_limit(limit)
    rows = sorted(items, key=lambda item: (created(item), key(item)), reverse=True)
    if cursor is not None:
        after_created, after_id = decode_timestamp_cursor(cursor)
        rows = [r for r in rows if (created(r), key(r)) < (after_created, after_id)]
    kept = rows[:limit]
    next_cursor = (
        (created(kept[-1]).isoformat(), key(kept[-1])) if len(rows) > limit and kept else None
    )
    return Page(items=kept, next_cursor=next_cursor)


class _Repository:
    def __init__(self, tables: Tables, clock: Callable[[], datetime]) -> None:
        self._t = tables
        self._clock = clock


class FakeAgents(_Repository):
    async def get(self, agent_id: str) -> Agent | None:
        return self._t.agents.get(agent_id)

    async def lock(self, agent_id: str) -> Agent | None:
        return self._t.agents.get(agent_id)

    async def list_page(
        self, limit: int, cursor: tuple[str, ...] | None, agent_type: AgentType | None
    ) -> Page[Agent]:
        listed = [
            a
            for a in self._t.agents.values()
            if a.state is AgentState.ACTIVE
            and (agent_type is None or a.profile.agent_type == agent_type)
        ]
        return _newest_first(listed, lambda a: a.created_at, lambda a: a.agent_id, limit, cursor)

    async def add(
        self,
        agent_id: str,
        profile: AgentProfile,
        public_key: bytes,
        capability_ids: Iterable[str],
    ) -> Agent:
        wanted = sorted(set(capability_ids))
        self._require_capabilities(wanted)
        if any(a.public_key == public_key for a in self._t.agents.values()):
            raise failures.public_key_taken()
        now = self._clock()
        agent = Agent(
            agent_id=agent_id,
            profile=profile,
            public_key=public_key,
            capabilities=tuple(wanted),
            status=AgentStatus.OFFLINE,
            last_seen_at=None,
            trust_score=0.0,
            verified=False,
            key_version=1,
            created_at=now,
            updated_at=now,
        )
        self._t.agents[agent_id] = agent
        self._count(wanted, +1)
        return agent

    async def update(self, agent_id: str, profile: AgentProfile) -> Agent:
        return self._change(agent_id, profile=profile)

    async def moderate(
        self, agent_id: str, *, verified: bool | None = None, state: AgentState | None = None
    ) -> Agent | None:
        if agent_id not in self._t.agents:
            return None
        values: dict[str, Any] = {}
        if verified is not None:
            values["verified"] = verified
        if state is not None:
            values["state"] = state
        return self._change(agent_id, **values)

    async def delete(self, agent_id: str) -> bool:
        agent = self._t.agents.pop(agent_id, None)
        if agent is None:
            return False
        self._count(list(agent.capabilities), -1)
        t = self._t  # what ON DELETE CASCADE takes with it
        t.attestations = {
            k: a for k, a in t.attestations.items() if agent_id not in (a.attester_id, a.subject_id)
        }
        t.api_keys = {k: v for k, v in t.api_keys.items() if v[0].agent_id != agent_id}
        t.webhooks = {k: w for k, w in t.webhooks.items() if w.agent_id != agent_id}
        t.cards.pop(agent_id, None)
        return True

    async def rotate_key(self, agent_id: str, expected_current_key: bytes, new_key: bytes) -> Agent:
        agent = self._t.agents.get(agent_id)
        if agent is None:
            raise failures.agent_not_found(agent_id)
        if any(a.public_key == new_key and a.agent_id != agent_id for a in self._t.agents.values()):
            raise failures.public_key_taken()
        if agent.public_key != expected_current_key:
            raise failures.public_key_mismatch(agent_id)
        return self._change(agent_id, public_key=new_key, key_version=agent.key_version + 1)

    async def add_capability(self, agent_id: str, capability_id: str) -> Agent:
        agent = self._require(agent_id)
        self._require_capabilities([capability_id])
        if capability_id in agent.capabilities:
            raise failures.capability_already_added(agent_id, capability_id)
        self._count([capability_id], +1)
        offered = tuple(sorted({*agent.capabilities, capability_id}))
        return self._change(agent_id, capabilities=offered)

    async def remove_capability(self, agent_id: str, capability_id: str) -> Agent:
        agent = self._require(agent_id)
        if capability_id not in agent.capabilities:
            raise failures.capability_not_offered(agent_id, capability_id)
        self._count([capability_id], -1)
        kept = tuple(c for c in agent.capabilities if c != capability_id)
        return self._change(agent_id, capabilities=kept)

    def _require(self, agent_id: str) -> Agent:
        agent = self._t.agents.get(agent_id)
        if agent is None:
            raise failures.agent_not_found(agent_id)
        return agent

    def _change(self, agent_id: str, **values: Any) -> Agent:
        agent = dataclasses.replace(self._require(agent_id), updated_at=self._clock(), **values)
        self._t.agents[agent_id] = agent
        return agent

    def _require_capabilities(self, capability_ids: list[str]) -> None:
        missing = set(capability_ids) - set(self._t.capabilities)
        if missing:
            raise failures.capability_not_found(sorted(missing))

    def _count(self, capability_ids: list[str], delta: int) -> None:
        for cid in capability_ids:
            capability = self._t.capabilities[cid]
            self._t.capabilities[cid] = dataclasses.replace(
                capability, agent_count=capability.agent_count + delta
            )


class FakeCapabilities(_Repository):
    async def get(self, capability_id: str) -> Capability | None:
        return self._t.capabilities.get(capability_id)

    async def list_page(self, limit: int, cursor: tuple[str, ...] | None) -> Page[Capability]:
        check_limit(limit)
        rows = sorted(self._t.capabilities.values(), key=lambda c: c.capability_id)
        if cursor is not None:
            rows = [c for c in rows if c.capability_id > cursor[-1]]
        kept = rows[:limit]
        more = len(rows) > limit and kept
        return Page(items=kept, next_cursor=(kept[-1].capability_id,) if more else None)


class FakeEvents(_Repository):
    def __init__(self, tables: Tables, clock: Callable[[], datetime]) -> None:
        super().__init__(tables, clock)
        self.recorded: list[DomainEvent] = []

    async def add(self, event: DomainEvent) -> int:
        event_id = self._t.next_event_id
        self._t.next_event_id += 1
        self._t.events.append(
            ChangeEvent(
                event_id=event_id,
                event_type=str(event.event_type),
                agent_id=event.agent_id,
                created_at=self._clock(),
                data=event.data(),
            )
        )
        self.recorded.append(event)
        return event_id

    async def list_after(
        self,
        after_id: int,
        limit: int,
        *,
        agent_id: str | None = None,
        up_to: int | None = None,
        types: frozenset[str] = frozenset(),
    ) -> list[ChangeEvent]:
        check_limit(limit)
        return [
            e
            for e in self._t.events
            if e.event_id > after_id
            and (up_to is None or e.event_id <= up_to)
            and (not types or e.event_type in types)
            and (agent_id is None or e.agent_id == agent_id)
        ][:limit]


class FakeAttestations(_Repository):
    async def subject_exists(self, agent_id: str) -> bool:
        return agent_id in self._t.agents

    async def replace_and_add(
        self, attestation_id: str, attester_id: str, draft: AttestationDraft
    ) -> tuple[Attestation, str | None]:
        claim, now = draft.claim, self._clock()
        replaced_id = None
        for existing in list(self._t.attestations.values()):
            same = (
                existing.attester_id == attester_id
                and existing.subject_id == draft.subject_id
                and existing.claim.kind == claim.kind
                and (existing.claim.capability_id or "") == (claim.capability_id or "")
            )
            if same and existing.state is AttestationState.ACTIVE:
                replaced_id = existing.attestation_id
                self._t.attestations[replaced_id] = dataclasses.replace(
                    existing, state=AttestationState.REPLACED, ended_at=now
                )
        attestation = Attestation(
            attestation_id=attestation_id,
            attester_id=attester_id,
            subject_id=draft.subject_id,
            claim=claim,
            issued_at=draft.issued_at,
            expires_at=draft.expires_at,
            signature=draft.signature,
            state=AttestationState.ACTIVE,
            created_at=now,
            ended_at=None,
        )
        self._t.attestations[attestation_id] = attestation
        return attestation, replaced_id

    async def get(self, attestation_id: str, *, lock: bool = False) -> Attestation | None:
        return self._t.attestations.get(attestation_id)

    async def revoke(self, attestation_id: str) -> Attestation:
        revoked = dataclasses.replace(
            self._t.attestations[attestation_id],
            state=AttestationState.REVOKED,
            ended_at=self._clock(),
        )
        self._t.attestations[attestation_id] = revoked
        return revoked

    async def list_page(
        self,
        *,
        subject_id: str | None,
        attester_id: str | None,
        include_inactive: bool,
        limit: int,
        cursor: tuple[str, ...] | None,
        now: datetime,
    ) -> Page[Attestation]:
        listed = [
            a
            for a in self._t.attestations.values()
            if (subject_id is None or a.subject_id == subject_id)
            and (attester_id is None or a.attester_id == attester_id)
            and (include_inactive or a.state_at(now) is AttestationState.ACTIVE)
        ]
        return _newest_first(
            listed, lambda a: a.created_at, lambda a: a.attestation_id, limit, cursor
        )


class FakeDomains(_Repository):
    async def claim(self, agent_id: str, domain: str) -> bool:
        return self._set(agent_id, lambda a: True, domain=domain, domain_verified_at=None)

    async def proven(self, agent_id: str, domain: str, at: datetime) -> bool:
        return self._set(agent_id, lambda a: a.domain == domain, domain_verified_at=at)

    def _set(self, agent_id: str, where: Callable[[Agent], bool], **values: Any) -> bool:
        agent = self._t.agents.get(agent_id)
        if agent is None or not where(agent):
            return False
        self._t.agents[agent_id] = dataclasses.replace(agent, updated_at=self._clock(), **values)
        return True


class FakeCards(_Repository):
    async def put(self, agent_id: str, card: dict[str, Any]) -> None:
        self._t.cards[agent_id] = copy.deepcopy(card)

    async def get(self, agent_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self._t.cards.get(agent_id))

    async def forget(self, agent_id: str) -> None:
        self._t.cards.pop(agent_id, None)


class FakeApiKeys(_Repository):
    async def add(
        self,
        key_id: str,
        agent_id: str | None,
        display_name: str,
        key_hash: bytes,
        key_prefix: str,
        scopes: tuple[Scope, ...],
        plan: Plan,
        expires_at: datetime | None,
    ) -> ApiKey:
        now = self._clock()
        key = ApiKey(
            key_id, agent_id, display_name, key_prefix, scopes, plan, now, expires_at, None
        )
        self._t.api_keys[key_id] = (key, key_hash)
        return key

    async def by_hash(self, key_hash: bytes) -> ApiKey | None:
        return next((k for k, h in self._t.api_keys.values() if h == key_hash), None)

    async def set_plan(self, key_id: str, plan: Plan) -> tuple[ApiKey, bytes] | None:
        found = self._t.api_keys.get(key_id)
        if found is None or found[0].agent_id is None:
            return None
        changed = (dataclasses.replace(found[0], plan=plan), found[1])
        self._t.api_keys[key_id] = changed
        return changed

    async def hashes_of_agent(self, agent_id: str) -> list[bytes]:
        return [h for k, h in self._t.api_keys.values() if k.agent_id == agent_id]

    async def get(self, key_id: str) -> ApiKey | None:
        found = self._t.api_keys.get(key_id)
        return None if found is None else found[0]

    async def list_page(
        self, agent_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[ApiKey]:
        keys = [k for k, _ in self._t.api_keys.values() if k.agent_id == agent_id]
        return _newest_first(keys, lambda k: k.created_at, lambda k: k.key_id, limit, cursor)

    async def delete(self, key_id: str) -> bytes | None:
        found = self._t.api_keys.pop(key_id, None)
        return None if found is None else found[1]

    async def touch(self, key_id: str, when: datetime) -> None:
        found = self._t.api_keys.get(key_id)
        if found is not None:
            self._t.api_keys[key_id] = (dataclasses.replace(found[0], last_used_at=when), found[1])


class FakeWebhooks(_Repository):
    async def add(
        self,
        webhook_id: str,
        agent_id: str,
        url: str,
        event_types: list[str],
        state: str,
        secret: str,
    ) -> Webhook:
        now = self._clock()
        webhook = Webhook(
            webhook_id, agent_id, url, tuple(event_types), WebhookState(state), 0, now, now
        )
        self._t.webhooks[webhook_id] = webhook
        return webhook

    async def get(self, agent_id: str, webhook_id: str, *, lock: bool = False) -> Webhook | None:
        webhook = self._t.webhooks.get(webhook_id)
        return webhook if webhook is not None and webhook.agent_id == agent_id else None

    async def list_page(
        self, agent_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[Webhook]:
        owned = [w for w in self._t.webhooks.values() if w.agent_id == agent_id]
        return _newest_first(owned, lambda w: w.created_at, lambda w: w.webhook_id, limit, cursor)

    async def count(self, agent_id: str) -> int:
        return sum(1 for w in self._t.webhooks.values() if w.agent_id == agent_id)

    async def update(self, webhook_id: str, values: dict[str, Any]) -> Webhook:
        values = dict(values)
        values.pop("secret", None)  # never read back: shown once by the service
        if "state" in values:
            values["state"] = WebhookState(values["state"])
        if "event_types" in values:
            values["event_types"] = tuple(values["event_types"])
        webhook = dataclasses.replace(
            self._t.webhooks[webhook_id], updated_at=self._clock(), **values
        )
        self._t.webhooks[webhook_id] = webhook
        return webhook

    async def delete(self, agent_id: str, webhook_id: str) -> bool:
        if await self.get(agent_id, webhook_id) is None:
            return False
        del self._t.webhooks[webhook_id]
        return True

    async def list_deliveries_page(
        self, webhook_id: str, limit: int, cursor: tuple[str, ...] | None
    ) -> Page[WebhookDelivery]:
        check_limit(limit)
        return Page(items=[], next_cursor=None)  # deliveries are the sender's, not these tests'


class FakeDatabase:
    """The committed state every unit of work starts from."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.tables = Tables(capabilities=catalog())
        self.commits = 0

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeUnitOfWork:
    """A copy of the tables for the transaction; `commit()` makes it the committed state,
    leaving without it drops it (as db/uow.py rolls back)."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database
        self._tables: Tables | None = None

    async def __aenter__(self) -> Self:
        if self._tables is not None:
            raise RuntimeError("a unit of work cannot be entered twice")
        tables, clock = self._database.tables.copy(), self._database.clock
        self._tables = tables
        self.agents = FakeAgents(tables, clock)
        self.capabilities = FakeCapabilities(tables, clock)
        self.events = FakeEvents(tables, clock)
        self.attestations = FakeAttestations(tables, clock)
        self.domains = FakeDomains(tables, clock)
        self.cards = FakeCards(tables, clock)
        self.api_keys = FakeApiKeys(tables, clock)
        self.webhooks = FakeWebhooks(tables, clock)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._tables = None

    async def commit(self) -> None:
        assert self._tables is not None, "unit of work used outside `async with`"
        self._database.tables = self._tables
        self._tables = self._tables.copy()  # later writes in this block start afresh
        self._rebind(self._tables)
        self._database.commits += 1

    def _rebind(self, tables: Tables) -> None:
        for repository in (
            self.agents,
            self.capabilities,
            self.events,
            self.attestations,
            self.domains,
            self.cards,
            self.api_keys,
            self.webhooks,
        ):
            repository._t = tables


class PassThroughCache:
    """server.cache.aside.CacheAside without Redis: every read loads, and the generations
    a write retires are recorded for the tests to check."""

    enabled = False

    def __init__(self) -> None:
        self.bumped: list[str] = []

    async def get_or_load(
        self,
        key: str,
        generation_key: str | Iterable[str],
        ttl_s: int,
        load: Callable[[], Awaitable[bytes | None]],
    ) -> bytes | None:
        return await load()

    async def bump(self, *generation_keys: str) -> None:
        self.bumped.extend(generation_keys)


class CommittedReads:
    """db.point_reads.PointReads over the fake's committed tables."""

    def __init__(self, database: FakeDatabase) -> None:
        self._database = database

    async def agent(self, agent_id: str) -> Agent | None:
        return self._database.tables.agents.get(agent_id)


@dataclass
class _Challenge:
    agent_id: str
    nonce: bytes
    expires_at: datetime


class FakeAuthStore:
    """server.auth.store.AuthStore's challenges, sessions and epochs, expiring by the clock:
    a session outlives neither its TTL nor a change of its agent's epoch."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self._clock = clock
        self.challenges: dict[str, _Challenge] = {}
        self.sessions: dict[str, tuple[StoredSession, datetime]] = {}
        self.epochs: dict[str, int | str] = {}

    async def put_challenge(self, agent_id: str, ttl_s: int) -> tuple[str, bytes]:
        challenge_id, nonce = secrets.token_urlsafe(18), secrets.token_bytes(32)
        expires = self._clock() + timedelta(seconds=ttl_s)
        self.challenges[challenge_id] = _Challenge(agent_id, nonce, expires)
        return challenge_id, nonce

    async def take_challenge(self, challenge_id: str) -> StoredChallenge | None:
        found = self.challenges.pop(challenge_id, None)
        if found is None or found.expires_at <= self._clock():
            return None
        return StoredChallenge(agent_id=found.agent_id, nonce=found.nonce)

    async def put_session(
        self, agent_id: str, key_version: int, ttl_s: int, *, verified: bool = False
    ) -> str:
        token = secrets.token_urlsafe(32)
        expires = self._clock() + timedelta(seconds=ttl_s)
        self.sessions[token] = (StoredSession(agent_id, key_version, verified), expires)
        self.epochs[agent_id] = key_version
        return token

    async def get_session(self, token: str) -> StoredSession | None:
        found = self.sessions.get(token)
        if found is None or found[1] <= self._clock():
            return None
        session = found[0]
        return session if self.epochs.get(session.agent_id) == session.key_version else None

    async def delete_session(self, token: str) -> tuple[str, str] | None:
        found = self.sessions.pop(token, None)
        return None if found is None else (found[0].agent_id, token)

    async def set_epoch(self, agent_id: str, epoch: int) -> None:
        self.epochs[agent_id] = epoch

    async def renew_epoch(self, agent_id: str, key_version: int) -> None:
        self.epochs[agent_id] = f"{key_version}:{secrets.token_hex(8)}"


class FakeTrustSignal:
    def __init__(self) -> None:
        self.dirty = False

    async def mark_dirty(self) -> None:
        self.dirty = True
