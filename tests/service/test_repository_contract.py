"""One contract, two implementations: every check runs on the in-memory unit of work the
service tests use and on the Postgres one the server uses, so the fakes cannot drift.

`make test-fast` runs the in-memory half (`-m "not backing"`); `make test` runs both.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from db.engine import create_engine, session_factory
from db.ports import UnitsOfWork
from db.uow import UnitOfWorkFactory
from server.domain.agents import AgentProfile, AgentState, AgentStatus, AgentType
from server.domain.api_keys import Plan, Scope
from server.domain.attestations import AttestationDraft, AttestationState, Claim, ClaimKind
from server.domain.clock import utc_now
from server.domain.errors import AlreadyExists, Conflict, NotFound
from server.domain.events import AgentDeleted, AgentUpdated
from server.domain.ids import AGENT_PREFIX, new_id
from tests.integration.builders import agent_count, register
from tests.service.fakes import FakeDatabase


@pytest.fixture(
    params=["memory", pytest.param("postgres", marks=pytest.mark.backing)], scope="module"
)
async def units(request: pytest.FixtureRequest) -> AsyncIterator[UnitsOfWork]:
    if request.param == "memory":
        yield FakeDatabase(utc_now)
        return
    engine = create_engine(request.getfixturevalue("database_url"), pool_size=2)
    yield UnitOfWorkFactory(session_factory(engine))
    await engine.dispose()


def _key() -> bytes:
    return secrets.token_bytes(32)


async def _agent(
    units: UnitsOfWork,
    capabilities: tuple[str, ...] = (),
    agent_type: AgentType = AgentType.TOOL,
    key: bytes | None = None,
) -> str:
    return (await register(units, capabilities, key, agent_type=agent_type)).agent_id


async def test_an_added_agent_reads_back_with_its_defaults(units: UnitsOfWork) -> None:
    before = await agent_count(units, "translation")
    key = _key()
    added = await register(units, ("web-search", "translation", "translation"), key, tags=("a",))
    async with units() as uow:
        agent = await uow.agents.get(added.agent_id)
        assert await uow.agents.lock(added.agent_id) == agent
    assert agent == added
    assert agent.profile.tags == ("a",) and agent.profile.metadata == {"suite": "integration"}
    assert agent.public_key == key and agent.capabilities == ("translation", "web-search")
    assert (agent.status, agent.last_seen_at, agent.trust_score) == (AgentStatus.OFFLINE, None, 0)
    assert (agent.verified, agent.key_version, agent.state) == (False, 1, AgentState.ACTIVE)
    assert (agent.domain, agent.domain_verified_at) == ("", None)
    assert agent.created_at == agent.updated_at and agent.created_at.tzinfo is not None
    assert await agent_count(units, "translation") == before + 1


async def test_a_taken_key_or_unknown_capability_adds_nothing(units: UnitsOfWork) -> None:
    key = _key()
    await _agent(units, key=key)
    with pytest.raises(AlreadyExists):
        await _agent(units, key=key)
    with pytest.raises(NotFound) as caught:
        await _agent(units, ("translation", "zz-missing", "aa-missing"))
    assert caught.value.metadata == {"capability": "capabilities/aa-missing"}


async def test_writes_without_commit_are_dropped(units: UnitsOfWork) -> None:
    agent_id = new_id(AGENT_PREFIX)
    async with units() as uow:
        await uow.agents.add(agent_id, AgentProfile("x", AgentType.TOOL), _key(), ())
    async with units() as uow:
        assert await uow.agents.get(agent_id) is None
        await uow.agents.add(agent_id, AgentProfile("x", AgentType.TOOL), _key(), ())
        await uow.commit()
        await uow.events.add(AgentDeleted(agent_id=agent_id))  # after the commit, not committed
        assert len(uow.events.recorded) == 1
    async with units() as uow:
        assert await uow.agents.get(agent_id) is not None
        assert await uow.events.list_after(0, 10, agent_id=agent_id) == []


async def test_update_moderate_and_listing(units: UnitsOfWork) -> None:
    agent_id = await _agent(units, agent_type=AgentType.ORCHESTRATOR)
    async with units() as uow:
        page = await uow.agents.list_page(1, None, AgentType.ORCHESTRATOR)
        assert [a.agent_id for a in page.items] == [agent_id]
        profile = AgentProfile("Renamed", AgentType.ORCHESTRATOR, description="d")
        updated = await uow.agents.update(agent_id, profile)
        assert updated.profile == profile
        with pytest.raises(NotFound):
            await uow.agents.update(new_id(AGENT_PREFIX), profile)
        assert await uow.agents.moderate(new_id(AGENT_PREFIX), verified=True) is None
        moderated = await uow.agents.moderate(agent_id, state=AgentState.SUSPENDED)
        assert moderated is not None and moderated.state is AgentState.SUSPENDED
        assert moderated.profile == profile
        page = await uow.agents.list_page(1, None, AgentType.ORCHESTRATOR)
        assert agent_id not in [a.agent_id for a in page.items]
        await uow.commit()


async def test_rotation_swaps_only_the_expected_key(units: UnitsOfWork) -> None:
    old, new, taken = _key(), _key(), _key()
    agent_id = await _agent(units, key=old)
    await _agent(units, key=taken)
    async with units() as uow:
        with pytest.raises(Conflict):
            await uow.agents.rotate_key(agent_id, new, _key())
        with pytest.raises(NotFound):
            await uow.agents.rotate_key(new_id(AGENT_PREFIX), old, new)
    async with units() as uow:
        with pytest.raises(AlreadyExists):
            await uow.agents.rotate_key(agent_id, old, taken)
    async with units() as uow:
        rotated = await uow.agents.rotate_key(agent_id, old, new)
        assert (rotated.public_key, rotated.key_version) == (new, 2)


async def test_capabilities_are_offered_once(units: UnitsOfWork) -> None:
    agent_id = await _agent(units)
    before = await agent_count(units, "code-review")
    async with units() as uow:
        added = await uow.agents.add_capability(agent_id, "code-review")
        assert added.capabilities == ("code-review",)
        await uow.commit()
    assert await agent_count(units, "code-review") == before + 1
    async with units() as uow:
        with pytest.raises(AlreadyExists):
            await uow.agents.add_capability(agent_id, "code-review")
    async with units() as uow:
        with pytest.raises(NotFound):
            await uow.agents.add_capability(agent_id, "zz-missing")
    async with units() as uow:
        with pytest.raises(NotFound):
            await uow.agents.remove_capability(agent_id, "translation")
    async with units() as uow:
        with pytest.raises(NotFound):
            await uow.agents.add_capability(new_id(AGENT_PREFIX), "code-review")
    async with units() as uow:
        assert (await uow.agents.remove_capability(agent_id, "code-review")).capabilities == ()
        await uow.commit()
    assert await agent_count(units, "code-review") == before


async def test_capability_catalog_pages_by_id(units: UnitsOfWork) -> None:
    async with units() as uow:
        first = await uow.capabilities.list_page(2, None)
        assert first.next_cursor is not None
        second = await uow.capabilities.list_page(2, first.next_cursor)
    ids = [c.capability_id for c in first.items + second.items]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert await _get_capability(units, "zz-missing") is None


async def _get_capability(units: UnitsOfWork, capability_id: str) -> object:
    async with units() as uow:
        return await uow.capabilities.get(capability_id)


def _draft(subject_id: str, score: int, expires_in_s: float | None = None) -> AttestationDraft:
    now = utc_now().replace(microsecond=0)
    expires = None if expires_in_s is None else now + timedelta(seconds=expires_in_s)
    claim = Claim(kind=ClaimKind.BEHAVIOUR, behaviour_score=score)
    return AttestationDraft(subject_id, claim, now - timedelta(seconds=10), expires, b"s" * 64)


async def test_attestations_replace_revoke_and_expire(units: UnitsOfWork) -> None:
    attester, subject = await _agent(units), await _agent(units)
    async with units() as uow:
        assert await uow.attestations.subject_exists(subject)
        assert not await uow.attestations.subject_exists(new_id(AGENT_PREFIX))
        first, replaced = await uow.attestations.replace_and_add(
            new_id("at_"), attester, _draft(subject, 10)
        )
        assert replaced is None and first.state is AttestationState.ACTIVE
        second, replaced = await uow.attestations.replace_and_add(
            new_id("at_"), attester, _draft(subject, 20, expires_in_s=60)
        )
        assert replaced == first.attestation_id
        await uow.commit()
    async with units() as uow:
        old = await uow.attestations.get(first.attestation_id, lock=True)
        assert old is not None and old.state is AttestationState.REPLACED
        assert old.ended_at is not None
        stored = await uow.attestations.get(second.attestation_id)
        assert stored == second
        now = utc_now()
        kwargs = {"subject_id": subject, "attester_id": None, "limit": 10, "cursor": None}
        active = await uow.attestations.list_page(include_inactive=False, now=now, **kwargs)
        assert [a.attestation_id for a in active.items] == [second.attestation_id]
        later = now + timedelta(seconds=120)
        assert (
            await uow.attestations.list_page(include_inactive=False, now=later, **kwargs)
        ).items == []
        everything = await uow.attestations.list_page(include_inactive=True, now=later, **kwargs)
        assert {a.attestation_id for a in everything.items} == {
            first.attestation_id,
            second.attestation_id,
        }
        revoked = await uow.attestations.revoke(second.attestation_id)
        assert revoked.state is AttestationState.REVOKED and revoked.ended_at is not None
        assert (
            await uow.attestations.list_page(include_inactive=False, now=now, **kwargs)
        ).items == []


async def test_attestations_page_newest_first(units: UnitsOfWork) -> None:
    subject = await _agent(units)
    made = []
    for _ in range(3):
        attester = await _agent(units)
        async with units() as uow:
            attestation, _ = await uow.attestations.replace_and_add(
                new_id("at_"), attester, _draft(subject, 50)
            )
            await uow.commit()
        made.append(attestation.attestation_id)
    seen: list[str] = []
    cursor = None
    async with units() as uow:
        while True:
            page = await uow.attestations.list_page(
                subject_id=subject,
                attester_id=None,
                include_inactive=True,
                limit=2,
                cursor=cursor,
                now=utc_now(),
            )
            seen += [a.attestation_id for a in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == made[::-1]


async def test_deleting_an_agent_takes_what_hangs_from_it(units: UnitsOfWork) -> None:
    agent_id = await _agent(units, ("image-generation",))
    other = await _agent(units)
    before = await agent_count(units, "image-generation")
    async with units() as uow:
        attestation, _ = await uow.attestations.replace_and_add(
            new_id("at_"), other, _draft(agent_id, 70)
        )
        await uow.api_keys.add(
            new_id("key_"), agent_id, "k", secrets.token_bytes(32), "ar_", (), Plan.FREE, None
        )
        webhook = await uow.webhooks.add(
            new_id("wh_"), agent_id, "https://x.test/", [], "enabled", "s"
        )
        await uow.cards.put(agent_id, {"name": "card"})
        await uow.commit()
    async with units() as uow:
        assert await uow.agents.delete(agent_id)
        assert not await uow.agents.delete(agent_id)
        await uow.commit()
    async with units() as uow:
        assert await uow.agents.get(agent_id) is None
        assert await uow.attestations.get(attestation.attestation_id) is None
        assert await uow.api_keys.hashes_of_agent(agent_id) == []
        assert await uow.webhooks.get(agent_id, webhook.webhook_id) is None
        assert await uow.cards.get(agent_id) is None
    assert await agent_count(units, "image-generation") == before - 1


async def test_events_are_numbered_and_filtered(units: UnitsOfWork) -> None:
    agent_id = await _agent(units)
    async with units() as uow:
        first = await uow.events.add(AgentUpdated(agent_id=agent_id, fields=("description",)))
        second = await uow.events.add(AgentDeleted(agent_id=agent_id))
        assert second > first
        assert [type(e) for e in uow.events.recorded] == [AgentUpdated, AgentDeleted]
        await uow.commit()
    async with units() as uow:
        mine = await uow.events.list_after(first - 1, 10, agent_id=agent_id)
        assert [(e.event_id, e.event_type) for e in mine] == [
            (first, "AGENT_UPDATED"),
            (second, "AGENT_DELETED"),
        ]
        assert mine[0].data == AgentUpdated(agent_id=agent_id, fields=("description",)).data()
        only = await uow.events.list_after(
            0, 10, agent_id=agent_id, types=frozenset({"AGENT_DELETED"})
        )
        assert [e.event_id for e in only] == [second]
        assert [
            e.event_id for e in await uow.events.list_after(0, 10, agent_id=agent_id, up_to=first)
        ] == [first]


async def test_domain_claims_and_proofs(units: UnitsOfWork) -> None:
    agent_id = await _agent(units)
    at = utc_now()
    async with units() as uow:
        assert not await uow.domains.claim(new_id(AGENT_PREFIX), "example.com")
        assert await uow.domains.claim(agent_id, "example.com")
        assert not await uow.domains.proven(agent_id, "other.example.com", at)
        assert await uow.domains.proven(agent_id, "example.com", at)
        agent = await uow.agents.get(agent_id)
        assert agent is not None and (agent.domain, agent.domain_verified_at) == ("example.com", at)
        assert await uow.domains.claim(agent_id, "example.org")  # a new claim drops the proof
        agent = await uow.agents.get(agent_id)
        assert agent is not None and agent.domain_verified_at is None


async def test_cards_are_replaced_and_forgotten(units: UnitsOfWork) -> None:
    agent_id = await _agent(units)
    async with units() as uow:
        assert await uow.cards.get(agent_id) is None
        await uow.cards.put(agent_id, {"name": "one", "skills": [{"id": "a"}]})
        await uow.cards.put(agent_id, {"name": "two"})
        assert await uow.cards.get(agent_id) == {"name": "two"}
        await uow.cards.forget(agent_id)
        assert await uow.cards.get(agent_id) is None


async def test_api_keys(units: UnitsOfWork) -> None:
    agent_id = await _agent(units)
    key_hash, operator_hash = secrets.token_bytes(32), secrets.token_bytes(32)
    key_id, operator_id = new_id("key_"), new_id("key_")
    async with units() as uow:
        key = await uow.api_keys.add(
            key_id, agent_id, "ci", key_hash, "ar_ab", (Scope.READ,), Plan.FREE, None
        )
        assert (key.agent_id, key.scopes, key.plan, key.last_used_at) == (
            agent_id,
            (Scope.READ,),
            Plan.FREE,
            None,
        )
        await uow.api_keys.add(
            operator_id, None, "op", operator_hash, "ar_op", (Scope.OPERATOR,), Plan.FREE, None
        )
        assert await uow.api_keys.by_hash(key_hash) == key
        assert await uow.api_keys.set_plan(operator_id, Plan.PRO) is None
        changed = await uow.api_keys.set_plan(key_id, Plan.PRO)
        assert changed is not None and changed[0].plan is Plan.PRO and changed[1] == key_hash
        assert await uow.api_keys.hashes_of_agent(agent_id) == [key_hash]
        page = await uow.api_keys.list_page(agent_id, 10, None)
        assert [k.key_id for k in page.items] == [key_id] and page.next_cursor is None
        when = utc_now()
        await uow.api_keys.touch(key_id, when)
        touched = await uow.api_keys.get(key_id)
        assert touched is not None and touched.last_used_at == when
        assert await uow.api_keys.delete(key_id) == key_hash
        assert await uow.api_keys.delete(key_id) is None


async def test_webhooks(units: UnitsOfWork) -> None:
    agent_id, other = await _agent(units), await _agent(units)
    async with units() as uow:
        webhook = await uow.webhooks.add(
            new_id("wh_"), agent_id, "https://x.test/h", ["AGENT_UPDATED"], "paused", "secret"
        )
        assert (webhook.state.value, webhook.event_types, webhook.secret) == (
            "paused",
            ("AGENT_UPDATED",),
            "",
        )
        assert webhook.consecutive_failures == 0
        assert await uow.webhooks.get(other, webhook.webhook_id) is None
        assert await uow.webhooks.get(agent_id, webhook.webhook_id, lock=True) == webhook
        assert await uow.webhooks.count(agent_id) == 1
        updated = await uow.webhooks.update(
            webhook.webhook_id, {"state": "enabled", "event_types": [], "secret": "new"}
        )
        assert (updated.state.value, updated.event_types, updated.secret) == ("enabled", (), "")
        page = await uow.webhooks.list_page(agent_id, 10, None)
        assert page.items == [updated] and page.next_cursor is None
        deliveries = await uow.webhooks.list_deliveries_page(webhook.webhook_id, 10, None)
        assert deliveries.items == []
        assert not await uow.webhooks.delete(other, webhook.webhook_id)
        assert await uow.webhooks.delete(agent_id, webhook.webhook_id)
        assert await uow.webhooks.count(agent_id) == 0
