"""Cached search pages: repeated reads skip Postgres, and no write is hidden by them."""

from __future__ import annotations

from agentregistry.v1 import registry_service_pb2, resources_pb2
from agentregistry.v1 import search_service_pb2 as pb
from google.protobuf import field_mask_pb2

from tests.e2e.search_support import search_stub, word
from tests.factories import register
from tests.presence_support import StatementCounter


async def test_a_repeated_search_is_answered_without_sql(
    registry, channel, registry_server
) -> None:
    topic = word()
    await register(registry, display_name=f"{topic} Desk")
    search = search_stub(channel)
    request = pb.SearchAgentsRequest(query=topic, page_size=5)
    first = await search.SearchAgents(request)
    with StatementCounter(registry_server) as counter:
        again = await search.SearchAgents(request)
    assert again == first
    assert counter.statements == []


async def test_registrations_and_updates_show_in_the_next_search(registry, auth, channel) -> None:
    topic = word()
    first = await register(registry, auth, display_name=f"{topic} Desk")
    search = search_stub(channel)
    by_text = pb.SearchAgentsRequest(query=topic)
    assert [r.agent.name for r in (await search.SearchAgents(by_text)).results] == [first.name]

    second = await register(registry, display_name=f"{topic} Desk Two")
    await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=first.name, description="Storm forecasts."),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=first.metadata,
    )
    results = (await search.SearchAgents(by_text)).results
    assert {r.agent.name for r in results} == {first.name, second.name}
    assert {r.agent.description for r in results if r.agent.name == first.name} == {
        "Storm forecasts."
    }


async def test_repeated_statistics_are_answered_without_sql(
    registry, channel, registry_server
) -> None:
    search = search_stub(channel)
    first = await search.GetRegistryStats(pb.GetRegistryStatsRequest())
    with StatementCounter(registry_server) as counter:
        again = await search.GetRegistryStats(pb.GetRegistryStatsRequest())
    assert again == first
    assert counter.statements == []
    await register(registry)
    after = await search.GetRegistryStats(pb.GetRegistryStatsRequest())
    assert after.total_agents == first.total_agents + 1


async def test_queries_differing_in_case_and_spacing_share_responses_and_tokens(
    registry, channel, registry_server
) -> None:
    topic = word()
    first = await register(registry, display_name=f"{topic} Desk")
    second = await register(registry, display_name=f"{topic} Desk Two")
    search = search_stub(channel)
    page = await search.SearchAgents(pb.SearchAgentsRequest(query=f"{topic} desk", page_size=1))
    with StatementCounter(registry_server) as counter:
        same = await search.SearchAgents(
            pb.SearchAgentsRequest(query=f"  {topic.upper()}\tDESK ", page_size=1)
        )
    assert same == page
    assert counter.statements == []
    rest = await search.SearchAgents(
        pb.SearchAgentsRequest(
            query=f"{topic.title()} Desk", page_size=1, page_token=page.next_page_token
        )
    )
    names = [r.agent.name for r in (*page.results, *rest.results)]
    assert sorted(names) == sorted([first.name, second.name])


async def test_filters_listing_the_same_values_share_a_response(
    registry, channel, registry_server
) -> None:
    topic = word()
    await register(registry, display_name=f"{topic} Desk", tags=["alpha", "beta"])
    search = search_stub(channel)

    def tagged(*tags: str) -> pb.SearchAgentsRequest:
        return pb.SearchAgentsRequest(query=topic, filter=pb.AgentFilter(tags=tags))

    first = await search.SearchAgents(tagged("alpha", "beta"))
    with StatementCounter(registry_server) as counter:
        again = await search.SearchAgents(tagged("beta", "alpha", "beta"))
    assert again == first and len(first.results) == 1
    assert counter.statements == []
