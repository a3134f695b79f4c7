"""SearchAgents through a real channel: relevance, filters, syntax, paging, bad input."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from agentregistry.v1 import resources_pb2
from agentregistry.v1 import search_service_pb2 as pb

from tests.e2e.search_support import search_stub, set_columns, word
from tests.e2e.servers import instance
from tests.factories import error_details, register


async def _names(search, **request: object) -> list[str]:
    response = await search.SearchAgents(pb.SearchAgentsRequest(**request))
    return [r.agent.name for r in response.results]


async def test_name_match_outranks_description_match(registry, channel) -> None:
    topic = word()
    in_description = await register(
        registry, display_name=f"Plain {word()}", description=f"Also does {topic} work."
    )
    in_name = await register(registry, display_name=f"{topic.title()} Desk")
    in_tags = await register(registry, display_name=f"Tagged {word()}", tags=[topic])

    response = await search_stub(channel).SearchAgents(pb.SearchAgentsRequest(query=topic))

    names = [r.agent.name for r in response.results]
    assert names == [in_name.name, in_tags.name, in_description.name]
    ranks = [r.text_rank for r in response.results]
    assert ranks[0] > ranks[1] > ranks[2] > 0
    assert response.total_size_estimate == 3
    assert response.next_page_token == ""


async def test_trust_and_presence_break_text_ties(registry, channel, database_url) -> None:
    topic = word()
    plain = await register(registry, display_name=f"{topic} one")
    trusted = await register(registry, display_name=f"{topic} two")
    online = await register(registry, display_name=f"{topic} three")
    set_columns(database_url, trusted.name, trust_score=80.0)
    set_columns(database_url, online.name, status="online")

    names = await _names(search_stub(channel), query=topic)

    # 0.3 * 80/100 = 0.24 beats the 0.1 online bonus; both beat neither.
    assert names == [trusted.name, online.name, plain.name]


async def test_web_search_syntax(registry, channel) -> None:
    first, second, other = word(), word(), word()
    phrase = await register(registry, display_name="Phrase", description=f"{first} {second} here")
    apart = await register(
        registry, display_name="Apart", description=f"{second} then {first} later"
    )
    only_other = await register(registry, display_name="Other", description=f"{other} only")
    search = search_stub(channel)

    assert set(await _names(search, query=f"{first} {second}")) == {phrase.name, apart.name}
    assert await _names(search, query=f'"{first} {second}"') == [phrase.name]
    assert set(await _names(search, query=f"{first} or {other}")) == {
        phrase.name,
        apart.name,
        only_other.name,
    }
    assert await _names(search, query=f"{first} -{'later'}") == [phrase.name]
    # Only stop words and exclusions: nothing to look up in the index, so nothing matches.
    assert await _names(search, query=f"the -{other}") == []


async def test_a_sentence_ranks_agents_by_any_of_its_words(registry, settings, backing) -> None:
    """Ranked by text alone (semantic search off or its model missing)."""
    scope, first, second, third = word(), word(), word(), word()
    both = await register(registry, display_name=f"{first} {second}", tags=[scope])
    one = await register(registry, display_name=f"The {first} desk", tags=[scope])
    await register(registry, display_name="Elsewhere", tags=[scope])
    text_only = settings.model_copy(update={"semantic_search_enabled": False})
    async with instance(text_only, backing) as server:
        search = search_stub(server.channel)
        sentence = f"i need help with {first} and {second} for my {third} today"
        only_ours = pb.AgentFilter(tags=[scope])

        # No agent has every word: the sentence is ranked by any of them, more first.
        assert await _names(search, query=sentence, filter=only_ours) == [both.name, one.name]
        # Pages of an any-word ranking follow it (the page token remembers how it ranked).
        paged: list[str] = []
        token = ""
        for _ in range(3):
            response = await search.SearchAgents(
                pb.SearchAgentsRequest(
                    query=sentence, filter=only_ours, page_size=1, page_token=token
                )
            )
            paged += [r.agent.name for r in response.results]
            token = response.next_page_token
            if not token:
                break
        assert paged == [both.name, one.name]
        # Search syntax says how words combine, and is never read as any word.
        assert await _names(search, query=f'"{second} {first}" {third}', filter=only_ours) == []
        assert await _names(search, query=f"{first} {second} -{third}", filter=only_ours) == [
            both.name
        ]


async def test_each_filter_alone_and_combined(registry, channel, database_url) -> None:
    scope = word()  # every agent of this test carries it, so results are ours only
    tool = await register(
        registry,
        display_name=f"Tool {scope}",
        type=resources_pb2.AGENT_TYPE_TOOL,
        tags=[scope, "fast"],
        protocols=["grpc"],
        capabilities=["capabilities/translation", "capabilities/summarization"],
    )
    service = await register(
        registry,
        display_name=f"Service {scope}",
        type=resources_pb2.AGENT_TYPE_SERVICE,
        tags=[scope],
        protocols=["http", "mcp"],
        capabilities=["capabilities/translation"],
    )
    helper = await register(
        registry,
        display_name=f"Assistant {scope}",
        type=resources_pb2.AGENT_TYPE_ASSISTANT,
        tags=[scope, "fast", "cheap"],
        protocols=["mcp"],
        capabilities=["capabilities/summarization"],
    )
    set_columns(database_url, tool.name, trust_score=90.0, verified=True, status="online")
    set_columns(database_url, service.name, trust_score=40.0, status="busy")
    search = search_stub(channel)

    async def matching(**fields: object) -> set[str]:
        return set(await _names(search, query=scope, filter=pb.AgentFilter(**fields)))

    everyone = {tool.name, service.name, helper.name}
    assert set(await _names(search, query=scope)) == everyone
    assert (
        await matching(capabilities=["capabilities/translation", "capabilities/summarization"])
        == everyone
    )
    assert await matching(
        capabilities=["capabilities/translation", "capabilities/summarization"],
        capability_match=pb.AgentFilter.MATCH_ALL,
    ) == {tool.name}
    assert await matching(types=[resources_pb2.AGENT_TYPE_SERVICE]) == {service.name}
    assert await matching(protocols=["mcp"]) == {service.name, helper.name}
    assert await matching(tags=["fast"]) == {tool.name, helper.name}
    assert await matching(tags=["fast", "cheap"]) == {helper.name}
    assert await matching(
        statuses=[resources_pb2.AGENT_STATUS_ONLINE, resources_pb2.AGENT_STATUS_BUSY]
    ) == {tool.name, service.name}
    assert await matching(min_trust_score=50) == {tool.name}
    assert await matching(verified_only=True) == {tool.name}
    assert await matching(
        types=[resources_pb2.AGENT_TYPE_TOOL, resources_pb2.AGENT_TYPE_ASSISTANT],
        tags=["FAST"],
        protocols=["grpc", "mcp"],
        capabilities=["capabilities/summarization"],
    ) == {tool.name, helper.name}
    assert await matching(tags=["fast"], min_trust_score=10, protocols=["mcp"]) == set()

    # Filters alone, without text, are a search too (best trust first).
    by_tag = await search.SearchAgents(pb.SearchAgentsRequest(filter=pb.AgentFilter(tags=[scope])))
    assert [r.agent.name for r in by_tag.results] == [tool.name, service.name, helper.name]


async def test_pages_have_no_duplicates_or_gaps_while_agents_are_inserted(
    registry, channel
) -> None:
    topic = word()
    first_batch = [(await register(registry, display_name=f"{topic} {i}")).name for i in range(12)]
    search = search_stub(channel)
    seen: list[str] = []
    token = ""
    inserted: list[str] = []
    for _ in range(10):  # bounded: 12 agents in pages of 5 need 3 pages, plus inserts
        response = await search.SearchAgents(
            pb.SearchAgentsRequest(query=topic, page_size=5, page_token=token)
        )
        seen += [r.agent.name for r in response.results]
        # Agents that rank both above and below the cursor arrive between pages.
        more = await asyncio.gather(
            *(register(registry, display_name=f"{topic} late") for _ in range(2))
        )
        inserted += [agent.name for agent in more]
        token = response.next_page_token
        if not token:
            break
    assert token == ""
    assert len(seen) == len(set(seen)), "an agent appeared on two pages"
    assert set(first_batch) <= set(seen), "an agent that existed throughout was skipped"
    assert set(seen) <= set(first_batch) | set(inserted)


async def test_page_token_is_bound_to_its_query(registry, channel) -> None:
    topic = word()
    for i in range(3):
        await register(registry, display_name=f"{topic} {i}")
    search = search_stub(channel)
    first = await search.SearchAgents(pb.SearchAgentsRequest(query=topic, page_size=1))
    assert first.next_page_token
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await search.SearchAgents(
            pb.SearchAgentsRequest(query=word(), page_size=1, page_token=first.next_page_token)
        )
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == ["page_token"]


@pytest.mark.parametrize(
    ("request_fields", "fields"),
    [
        ({}, ["query"]),
        ({"query": "   "}, ["query"]),
        ({"query": "x" * 257}, ["query"]),
        ({"query": "nul\x00byte"}, ["query"]),
        ({"query": "-spam -ads or -x"}, ["query"]),
        ({"query": "ok", "page_size": -1}, ["page_size"]),
        (
            {"query": "ok", "filter": pb.AgentFilter(min_trust_score=101)},
            ["filter.min_trust_score"],
        ),
        (
            {"query": "ok", "filter": pb.AgentFilter(capabilities=["translation"])},
            ["filter.capabilities[0]"],
        ),
        (
            {"query": "ok", "filter": pb.AgentFilter(types=[resources_pb2.AGENT_TYPE_UNSPECIFIED])},
            ["filter.types[0]"],
        ),
    ],
)
async def test_bad_input_is_invalid_argument(channel, request_fields, fields) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await search_stub(channel).SearchAgents(pb.SearchAgentsRequest(**request_fields))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == fields


SIGNIFICANT = ["%", "'", "\\", ":*", "%'--", "(", "!", "&|<->", "\\'"]


async def test_sql_and_tsquery_significant_characters_are_plain_text(registry, channel) -> None:
    topic = word()
    agent = await register(registry, display_name=f"Careful {topic}")
    search = search_stub(channel)
    for characters in SIGNIFICANT:
        for query in (f"{topic}{characters}", f"{characters} {topic} {characters}"):
            assert await _names(search, query=query) == [agent.name], query
        # Alone they carry no word to look for: a clear INVALID_ARGUMENT, not a scan.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await search.SearchAgents(pb.SearchAgentsRequest(query=characters))
        assert error_details(caught.value).fields == ["query"]
    injected = f"{topic}'; DROP TABLE agents; --"
    assert await _names(search, query=injected) == []  # "drop table" are just more words
    assert await _names(search, query=topic) == [agent.name]
    typeahead = await search.SuggestAgents(pb.SuggestAgentsRequest(prefix="%"))
    assert all(s.display_name.startswith("%") for s in typeahead.suggestions)


async def test_quotes_and_percent_in_names_are_found(registry, channel) -> None:
    topic = word()
    agent = await register(registry, display_name=f"O'Brien {topic} 100%")
    search = search_stub(channel)
    assert await _names(search, query=f"O'Brien {topic}") == [agent.name]
    assert await _names(search, query=f"{topic}:*") == [agent.name]
    assert await _names(search, query=f"{topic[:-2]}:*") == []  # no prefix syntax injection
