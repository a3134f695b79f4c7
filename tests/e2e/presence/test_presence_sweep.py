"""The sweep and flush jobs against the live server's Redis and Postgres."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

from agentregistry.v1 import presence_service_pb2 as pb
from agentregistry.v1 import registry_service_pb2, resources_pb2
from agentregistry.v1 import search_service_pb2 as search_pb
from sqlalchemy import select

from db.engine import session_factory
from db.models import AgentRow, EventRow
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs.presence_flush import presence_flush
from scheduler.jobs.presence_sweep import presence_sweep
from server.domain.agents import AgentStatus
from server.domain.clock import Clock, utc_now
from server.presence.store import PresenceStore, PresenceWrite
from tests.e2e.search_support import search_stub
from tests.factories import register
from tests.presence_support import (
    TTL_S,
    PresenceClient,
    StatementCounter,
    searchable_agent,
    set_status,
)


def _context(client: PresenceClient, clock: Clock = utc_now, **overrides: object) -> JobContext:
    settings = client.settings.model_copy(update=overrides)
    uow = UnitOfWorkFactory(session_factory(client.app.engine))
    return JobContext(settings, client.app.engine, uow, client.app.redis, clock)


async def _row(client: PresenceClient, agent_name: str) -> tuple[str, object]:
    async with _context(client).uow() as uow:
        result = await uow.session.execute(
            select(AgentRow.status, AgentRow.last_seen_at).where(
                AgentRow.id == agent_name.removeprefix("agents/")
            )
        )
        status, last_seen_at = result.one()
        return status, last_seen_at


async def _status_events(client: PresenceClient, agent_name: str) -> list[dict[str, object]]:
    async with _context(client).uow() as uow:
        rows = await uow.session.scalars(
            select(EventRow)
            .where(
                EventRow.agent_id == agent_name.removeprefix("agents/"),
                EventRow.event_type == "AGENT_STATUS_CHANGED",
            )
            .order_by(EventRow.id)
        )
        return [dict(row.data) for row in rows]


async def test_flush_carries_status_to_postgres_with_one_event_per_change(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    await presence_client.presence.SetStatus(
        pb.SetStatusRequest(name=agent.name, status=resources_pb2.AGENT_STATUS_BUSY),
        metadata=agent.metadata,
    )
    figures = await presence_flush(_context(presence_client))
    assert figures["rows_updated"] >= 1
    status, last_seen_at = await _row(presence_client, agent.name)
    assert status == "busy" and last_seen_at is not None
    assert [e["status"] for e in await _status_events(presence_client, agent.name)] == ["busy"]
    # Flushing again with no new beats changes nothing and writes no event.
    await presence_flush(_context(presence_client))
    assert len(await _status_events(presence_client, agent.name)) == 1


async def test_sweep_marks_a_silent_agent_offline_with_an_event(
    presence_client: PresenceClient,
) -> None:
    agent = await register(presence_client.registry, presence_client.auth)
    await presence_client.presence.SendHeartbeat(
        pb.SendHeartbeatRequest(name=agent.name), metadata=agent.metadata
    )
    await presence_flush(_context(presence_client))
    # The sweep judges staleness by its context's clock: a TTL later, without waiting one.
    past_ttl = datetime.now(UTC) + timedelta(seconds=TTL_S + 0.2)
    figures = await presence_sweep(_context(presence_client, lambda: past_ttl))
    assert figures["expired"] >= 1 and not figures["self_preservation"]
    fetched = await presence_client.registry.GetAgent(
        registry_service_pb2.GetAgentRequest(name=agent.name)
    )
    assert fetched.status == resources_pb2.AGENT_STATUS_OFFLINE
    assert fetched.HasField("last_seen_time")
    # The sweep writes Redis only; the next flush carries the change and its event to Postgres.
    assert [e["status"] for e in await _status_events(presence_client, agent.name)] == ["online"]
    await presence_flush(_context(presence_client))
    status, last_seen_at = await _row(presence_client, agent.name)
    assert status == "offline" and last_seen_at is not None
    statuses = [e["status"] for e in await _status_events(presence_client, agent.name)]
    assert statuses == ["online", "offline"]


async def test_self_preservation_holds_back_a_mass_expiry(
    presence_client: PresenceClient,
) -> None:
    namespace = f"presence-test-{uuid.uuid4().hex[:8]}"
    context = _context(
        presence_client,
        presence_namespace=namespace,
        presence_self_preservation_ratio=0.25,
        presence_self_preservation_min_agents=4,
    )
    store = PresenceStore(presence_client.app.redis, namespace)
    now = time.time()
    stale = [
        PresenceWrite(f"ag_stale{i:010d}xx", AgentStatus.ONLINE, 0.0, now - 60) for i in range(6)
    ]
    fresh = [PresenceWrite(f"ag_fresh{i:010d}xx", AgentStatus.ONLINE, 0.0, now) for i in range(6)]
    await store.write(stale + fresh)

    first = await presence_sweep(context)
    assert first["due"] == 6 and first["present"] == 12
    assert first["expired"] == 3 and first["held_back"] == 3 and first["self_preservation"]
    assert await store.present_count() == 9
    second = await presence_sweep(context)
    assert second["expired"] == 2 and second["held_back"] == 1


async def test_a_flush_retires_only_what_filters_or_counts_by_status(
    presence_client: PresenceClient,
) -> None:
    """An unfiltered page outlives the flush (no SQL) and shows the live status anyway;
    statistics, which count by stored status, follow the flush."""
    agent, topic = await searchable_agent(presence_client)
    search = search_stub(presence_client.channel)
    by_text = search_pb.SearchAgentsRequest(query=topic)
    await search.SearchAgents(by_text)  # now a cached page
    online = "AGENT_STATUS_ONLINE"
    before = (await search.GetRegistryStats(search_pb.GetRegistryStatsRequest())).agents_by_status
    await set_status(presence_client, agent, resources_pb2.AGENT_STATUS_ONLINE)
    assert (await presence_flush(_context(presence_client)))["events_written"] >= 1
    with StatementCounter(presence_client.app) as counter:
        again = await search.SearchAgents(by_text)
    assert counter.statements == []
    assert [(r.agent.name, r.agent.status) for r in again.results] == [
        (agent.name, resources_pb2.AGENT_STATUS_ONLINE)
    ]
    after = (await search.GetRegistryStats(search_pb.GetRegistryStatsRequest())).agents_by_status
    assert after[online] >= before[online] + 1


async def test_search_status_filter_follows_the_flush_past_cached_pages(
    presence_client: PresenceClient,
) -> None:
    agent, topic = await searchable_agent(presence_client)
    search = search_stub(presence_client.channel)
    online = search_pb.SearchAgentsRequest(
        query=topic, filter=search_pb.AgentFilter(statuses=[resources_pb2.AGENT_STATUS_ONLINE])
    )
    assert list((await search.SearchAgents(online)).results) == []  # now a cached page
    await set_status(presence_client, agent, resources_pb2.AGENT_STATUS_ONLINE)
    await presence_flush(_context(presence_client))
    found = (await search.SearchAgents(online)).results
    assert [(r.agent.name, r.agent.status) for r in found] == [
        (agent.name, resources_pb2.AGENT_STATUS_ONLINE)
    ]
