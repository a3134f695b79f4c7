"""Typeahead, natural-language find, agents by capability and statistics, via a real channel."""

from __future__ import annotations

import asyncio

import grpc
import psycopg
import pytest
from agentregistry.v1 import registry_service_pb2, resources_pb2
from agentregistry.v1 import search_service_pb2 as pb
from google.protobuf import field_mask_pb2

from db.engine import libpq_url
from tests.e2e.search_support import search_stub, set_capability_trust, set_columns, word
from tests.e2e.servers import instance
from tests.factories import error_details, register


async def test_typeahead_by_prefix_and_despite_a_typo(registry, channel) -> None:
    stem = word(8)
    exact = await register(registry, display_name=f"{stem.title()}ville Trips")
    longer = await register(registry, display_name=f"{stem.title()}ville Trips Deluxe")
    search = search_stub(channel)

    by_prefix = await search.SuggestAgents(pb.SuggestAgentsRequest(prefix=stem[:6].upper()))
    assert [s.agent for s in by_prefix.suggestions] == [exact.name, longer.name]
    assert all(s.similarity == 1.0 for s in by_prefix.suggestions)

    typo = stem[:3] + stem[4:] + "ville"  # one letter dropped
    fuzzy = await search.SuggestAgents(pb.SuggestAgentsRequest(prefix=typo))
    found = [s.agent for s in fuzzy.suggestions]
    assert exact.name in found and longer.name in found
    assert all(0.6 <= s.similarity < 1.0 for s in fuzzy.suggestions)

    limited = await search.SuggestAgents(pb.SuggestAgentsRequest(prefix=stem, limit=1))
    assert [s.agent for s in limited.suggestions] == [exact.name]


async def test_typeahead_sees_past_a_swapped_wrong_extra_or_missing_letter(
    registry, channel
) -> None:
    stem = word(9)
    while stem[4] == stem[5]:  # swapping equal letters would be no typo at all
        stem = word(9)
    agent = await register(registry, display_name=f"{stem.title()} Courier")
    other = "a" if stem[4] != "a" else "e"
    typed = {
        "swapped": stem[:4] + stem[5] + stem[4] + stem[6:],
        "wrong": stem[:4] + other + stem[5:],
        "extra": stem[:4] + other + stem[4:],
        "missing": stem[:4] + stem[5:] + " cour",
        "second letter": stem[0] + ("a" if stem[1] != "a" else "e") + stem[2:],
    }
    for typo, prefix in typed.items():
        found = await search_stub(channel).SuggestAgents(pb.SuggestAgentsRequest(prefix=prefix))
        assert [s.agent for s in found.suggestions][:1] == [agent.name], typo
        assert 0 < found.suggestions[0].similarity < 1.0, typo


async def _suggested(channel, word_start: str) -> list[str]:
    """Agents whose name starts with the first 7 letters of a word (similarity 1): trigram
    look-alikes of a cut word score below 1, so only the name index can answer."""
    request = pb.SuggestAgentsRequest(prefix=word_start[:7])
    found = await search_stub(channel).SuggestAgents(request)
    return [s.agent for s in found.suggestions if s.similarity == 1.0]


async def _eventually(check, within_s: float = 10.0) -> None:
    """Polls `check` until it holds; the other instance's writes arrive via the outbox."""
    deadline = asyncio.get_running_loop().time() + within_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not seen in time"
        await asyncio.sleep(0.05)


async def test_typeahead_follows_writes_made_through_another_instance(
    channel, auth, settings, backing
) -> None:
    stem = word(9)
    async with instance(settings, backing) as other:
        agent = await register(other.registry, other.auth, display_name=f"{stem.title()} Relay")

        async def registered() -> bool:
            return await _suggested(channel, stem) == [agent.name]

        await _eventually(registered)
        renamed = word(9)
        await other.registry.UpdateAgent(
            registry_service_pb2.UpdateAgentRequest(
                agent=resources_pb2.Agent(name=agent.name, display_name=f"{renamed} Relay"),
                update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
            ),
            metadata=agent.metadata,
        )

        async def moved() -> bool:
            return await _suggested(channel, renamed) == [agent.name] and not await _suggested(
                channel, stem
            )

        await _eventually(moved)
        await other.registry.DeleteAgent(
            registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
        )

        async def gone() -> bool:
            return not await _suggested(channel, renamed)

        await _eventually(gone)


async def test_typeahead_sees_this_instances_writes_at_once(registry, auth, channel) -> None:
    stem = word(9)
    agent = await register(registry, auth, display_name=f"{stem.title()} Relay")
    assert await _suggested(channel, stem) == [agent.name]
    await registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
    )
    assert await _suggested(channel, stem) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"prefix": ""}, "prefix"),
        ({"prefix": "y" * 65}, "prefix"),
        ({"prefix": "ok", "limit": -1}, "limit"),
    ],
)
async def test_typeahead_bad_input(channel, fields, field) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await search_stub(channel).SuggestAgents(pb.SuggestAgentsRequest(**fields))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT and details.fields == [field]


@pytest.mark.parametrize(
    ("request_text", "capability"),
    [
        ("book me a flight to Lisbon", "capabilities/travel-booking"),
        ("someone to review my Python code", "capabilities/code-review"),
        ("transcribe this podcast audio", "capabilities/speech-to-text"),
        ("what will the weather be in Porto", "capabilities/weather"),
    ],
)
async def test_natural_language_maps_to_catalog_capabilities(
    registry, channel, database_url, request_text, capability
) -> None:
    scope = word()
    offers = await register(
        registry, display_name=f"Offers {scope}", tags=[scope], capabilities=[capability]
    )
    trusted = await register(
        registry, display_name=f"Trusted {scope}", tags=[scope], capabilities=[capability]
    )
    await register(registry, display_name=f"Unrelated {scope}", tags=[scope])
    # Trust for the capability asked for (kept by the trust job) ranks the offers.
    set_capability_trust(database_url, trusted.name, capability.split("/")[1], 70.0)

    response = await search_stub(channel).FindAgents(
        pb.FindAgentsRequest(query=request_text, filter=pb.AgentFilter(tags=[scope]))
    )

    assert not response.fell_back_to_text
    assert response.matched_capabilities[0].capability == capability
    assert 0 < response.matched_capabilities[0].confidence <= 1
    assert [r.agent.name for r in response.results] == [trusted.name, offers.name]


async def test_find_falls_back_to_text_when_nothing_is_understood(registry, channel) -> None:
    made_up = word()
    agent = await register(registry, display_name=f"The {made_up} people")

    response = await search_stub(channel).FindAgents(pb.FindAgentsRequest(query=f"a {made_up}"))

    assert response.fell_back_to_text
    assert list(response.matched_capabilities) == []
    assert [r.agent.name for r in response.results] == [agent.name]


async def test_find_ranks_by_capability_trust_and_presence_across_pages(
    registry, channel, database_url
) -> None:
    scope = word()
    agents = [
        (await register(registry, tags=[scope], capabilities=["capabilities/legal-review"])).name
        for _ in range(5)
    ]
    # (capability trust, status) → score 0.6 * confidence + 0.003 * trust + 0.1 * online.
    setup = [
        (90.0, "offline"),
        (70.0, "online"),
        (50.0, "online"),
        (80.0, "offline"),
        (0.0, "busy"),
    ]
    for name, (trust, status) in zip(agents, setup, strict=True):
        set_capability_trust(database_url, name, "legal-review", trust)
        set_columns(database_url, name, status=status)
    expected = [agents[1], agents[0], agents[2], agents[3], agents[4]]
    search = search_stub(channel)

    for page_size in (1, 2, 5):
        seen: list[str] = []
        token = ""
        for _ in range(6):
            response = await search.FindAgents(
                pb.FindAgentsRequest(
                    query="review my contract",
                    filter=pb.AgentFilter(tags=[scope]),
                    page_size=page_size,
                    page_token=token,
                )
            )
            assert response.matched_capabilities[0].capability == "capabilities/legal-review"
            seen += [r.agent.name for r in response.results]
            token = response.next_page_token
            if not token:
                break
        assert seen == expected, page_size


@pytest.mark.parametrize(
    ("request_text", "profiles"),
    [
        # "books" names travel booking in the catalog: a shared stem must not pin it.
        (
            "keep the books for my bakery",
            [
                ("Bakery Books Ledger", "Keeps the accounts of bakeries and cafes.", "accounting"),
                ("Trip Desk", "Books flights and hotels.", "travel-booking"),
            ],
        ),
        # Offerers of one capability rank by their own words before their trust for it.
        (
            "book a sleeper train to vienna",
            [
                ("Sleeper Train Desk", "Night trains across Europe.", "travel-booking"),
                ("Room Desk", "Hotel rooms in every city.", "travel-booking"),
            ],
        ),
    ],
)
async def test_find_ranks_by_the_request_not_only_the_capability(
    registry, channel, database_url, request_text, profiles
) -> None:
    scope = word()
    names = []
    for display_name, description, capability in profiles:
        handle = await register(
            registry,
            display_name=display_name,
            description=description,
            tags=[scope],
            capabilities=[f"capabilities/{capability}"],
        )
        names.append(handle.name)
    # The last is the more trusted for its capability, but not what is asked for.
    set_capability_trust(database_url, names[-1], profiles[-1][2], 10.0)

    response = await search_stub(channel).FindAgents(
        pb.FindAgentsRequest(query=request_text, filter=pb.AgentFilter(tags=[scope]))
    )

    found = [r.agent.name for r in response.results]
    # The asked-for agent first; the other may follow (by meaning) or not match at all.
    assert found and found == names[: len(found)], found


async def test_find_requires_a_query(channel) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await search_stub(channel).FindAgents(pb.FindAgentsRequest(query=" "))
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT and details.fields == ["query"]


async def test_agents_by_capability_most_trusted_for_it_first(
    registry, channel, database_url
) -> None:
    # A capability no other test uses, so the whole list is ours.
    capability = "capabilities/maps-navigation"
    agents = [(await register(registry, capabilities=[capability])).name for _ in range(4)]
    for trust, name in zip([10.0, 90.0, 50.0, 50.0], agents, strict=True):
        set_capability_trust(database_url, name, "maps-navigation", trust, verified=trust > 40)
    expected = [agents[1], *sorted(agents[2:]), agents[0]]
    search = search_stub(channel)

    seen: list[str] = []
    token = ""
    for _ in range(5):
        response = await search.ListCapabilityAgents(
            pb.ListCapabilityAgentsRequest(capability=capability, page_size=2, page_token=token)
        )
        seen += [a.name for a in response.agents]
        token = response.next_page_token
        if not token:
            break
    assert seen == expected

    verified = await search.ListCapabilityAgents(
        pb.ListCapabilityAgentsRequest(capability=capability, verified_only=True)
    )
    assert [a.name for a in verified.agents] == expected[:3]

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await search.ListCapabilityAgents(
            pb.ListCapabilityAgentsRequest(capability="capabilities/no-such-thing")
        )
    assert error_details(caught.value).reason == "CAPABILITY_NOT_FOUND"


def _stored_counts(database_url: str) -> tuple[int, dict[str, int], dict[str, int]]:
    with psycopg.connect(libpq_url(database_url)) as conn:
        total = conn.execute("SELECT count(*) FROM agents").fetchone()[0]  # type: ignore[index]
        types = dict(conn.execute("SELECT agent_type, count(*) FROM agents GROUP BY 1").fetchall())
        statuses = dict(conn.execute("SELECT status, count(*) FROM agents GROUP BY 1").fetchall())
    return total, types, statuses


async def test_statistics_follow_every_write(registry, auth, channel, database_url) -> None:
    search = search_stub(channel)
    before = await search.GetRegistryStats(pb.GetRegistryStatsRequest())

    agent = await register(
        registry,
        auth,
        type=resources_pb2.AGENT_TYPE_ORCHESTRATOR,
        capabilities=["capabilities/math"],
    )
    set_columns(database_url, agent.name, status="maintenance")
    after = await search.GetRegistryStats(pb.GetRegistryStatsRequest())

    assert after.total_agents == before.total_agents + 1
    orchestrators = "AGENT_TYPE_ORCHESTRATOR"
    assert after.agents_by_type[orchestrators] == before.agents_by_type[orchestrators] + 1
    maintenance = "AGENT_STATUS_MAINTENANCE"
    assert after.agents_by_status[maintenance] == before.agents_by_status[maintenance] + 1
    math = "capabilities/math"
    assert after.agents_by_capability[math] == before.agents_by_capability[math] + 1

    await registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
    )
    final = await search.GetRegistryStats(pb.GetRegistryStatsRequest())
    assert final.agents_by_status[maintenance] == before.agents_by_status[maintenance]
    assert final.agents_by_capability[math] == before.agents_by_capability[math]

    total, types, statuses = _stored_counts(database_url)
    assert final.total_agents == total
    assert {k: v for k, v in final.agents_by_type.items() if v} == {
        f"AGENT_TYPE_{k.upper()}": v for k, v in types.items()
    }
    assert {k: v for k, v in final.agents_by_status.items() if v} == {
        f"AGENT_STATUS_{k.upper()}": v for k, v in statuses.items()
    }
