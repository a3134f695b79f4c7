"""Hybrid search through a real channel: agents found by meaning, and how each matched."""

from __future__ import annotations

from agentregistry.v1 import registry_service_pb2, resources_pb2, search_service_pb2_grpc
from agentregistry.v1 import search_service_pb2 as pb
from google.protobuf import field_mask_pb2

from scheduler.backfill_embeddings import backfill
from server.embeddings.model import load_embedder
from tests.e2e.semantic_support import SemanticRegistry
from tests.e2e.servers import instance
from tests.factories import register

TEXT = pb.SearchResult.MATCH_REASON_TEXT
SEMANTIC = pb.SearchResult.MATCH_REASON_SEMANTIC
CAPABILITY = pb.SearchResult.MATCH_REASON_CAPABILITY


async def _agents(semantic: SemanticRegistry) -> dict[str, str]:
    """A small registry worded the way profiles are, not the way people ask."""
    registry = semantic.server.registry
    profiles = {
        "books": (
            "Ledgerly",
            "Keeps the books of small firms: categorises expenses, reconciles bank"
            " statements and prepares tax returns.",
        ),
        "trips": (
            "Wayfarer",
            "Finds and reserves flights, hotels and rental cars, and rebooks them when"
            " plans change.",
        ),
        "words": (
            "Polyglot",
            "Translates documents and websites between forty human languages.",
        ),
        "pictures": (
            "Inkwell",
            "Draws illustrations, logos and artwork from a short prompt.",
        ),
    }
    names = {}
    for key, (display_name, description) in profiles.items():
        handle = await register(registry, display_name=display_name, description=description)
        names[key] = handle.name
    return names


async def test_meaning_finds_what_words_miss(semantic: SemanticRegistry) -> None:
    names = await _agents(semantic)
    request = pb.SearchAgentsRequest(query="an artist who can sketch a mascot")

    before = await semantic.search.SearchAgents(request)
    figures = await semantic.embed()
    after = await semantic.search.SearchAgents(request)

    # No word of the query is in any profile: text alone finds nothing, and no agent
    # has a vector before the job runs.
    assert list(before.results) == []
    assert figures["agents_embedded"] == 4 and figures["catalog_embedded"] >= 30
    top = after.results[0]
    assert top.agent.name == names["pictures"]
    assert list(top.match_reasons) == [SEMANTIC]
    assert top.text_rank == 0 and top.semantic_similarity >= 0.15
    assert not after.semantic_unavailable
    # The job is idempotent: nothing changed, nothing is embedded again.
    assert (await semantic.embed())["agents_embedded"] == 0


async def test_text_and_meaning_together_rank_first(semantic: SemanticRegistry) -> None:
    await semantic.embed()
    response = await semantic.search.SearchAgents(pb.SearchAgentsRequest(query="wayfarer flights"))
    top = response.results[0]
    assert top.agent.display_name == "Wayfarer"
    assert list(top.match_reasons) == [TEXT, SEMANTIC]
    assert top.text_rank > 0 and top.semantic_similarity > 0


async def test_pages_of_a_hybrid_query_neither_repeat_nor_skip(semantic: SemanticRegistry) -> None:
    await semantic.embed()
    request = pb.SearchAgentsRequest(query="somebody to look after my money", page_size=100)
    whole = [r.agent.name for r in (await semantic.search.SearchAgents(request)).results]
    paged: list[str] = []
    token = ""
    for _ in range(len(whole) + 1):
        response = await semantic.search.SearchAgents(
            pb.SearchAgentsRequest(query=request.query, page_size=1, page_token=token)
        )
        paged += [r.agent.name for r in response.results]
        token = response.next_page_token
        if not token:
            break
    assert len(whole) >= 2
    assert paged == whole


async def test_an_update_is_embedded_again(semantic: SemanticRegistry) -> None:
    registry = semantic.server.registry
    handle = await register(
        registry,
        semantic.server.auth,
        display_name="Quillon",
        description="Writes birthday poems.",
    )
    await semantic.embed()
    request = pb.SearchAgentsRequest(query="forecast whether it will pour tomorrow")
    assert handle.name not in [
        r.agent.name
        for r in (await semantic.search.SearchAgents(request)).results
        if SEMANTIC in r.match_reasons and r.semantic_similarity >= 0.5
    ]

    await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(
                name=handle.name,
                description="Local weather forecasts: rain, sun and storms for the next days.",
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=handle.metadata,
    )
    assert (await semantic.embed())["agents_embedded"] == 1

    response = await semantic.search.SearchAgents(request)
    assert response.results[0].agent.name == handle.name


async def test_find_understands_a_capability_by_meaning(semantic: SemanticRegistry) -> None:
    registry = semantic.server.registry
    scribe = await register(
        registry,
        display_name="Scribe",
        description="Listens and types.",
        capabilities=["capabilities/speech-to-text"],
    )
    await semantic.embed()

    response = await semantic.search.FindAgents(
        pb.FindAgentsRequest(query="write down what was said in this voice recording")
    )

    first = response.matched_capabilities[0]
    assert first.capability == "capabilities/speech-to-text"
    assert SEMANTIC in first.match_reasons
    assert not response.fell_back_to_text
    assert response.results[0].agent.name == scribe.name
    assert CAPABILITY in response.results[0].match_reasons


async def test_find_understands_only_what_meaning_supports(semantic: SemanticRegistry) -> None:
    """ "books" shares a stem with travel booking's wording; the meaning is bookkeeping."""
    await _agents(semantic)
    await semantic.embed()

    response = await semantic.search.FindAgents(
        pb.FindAgentsRequest(query="keep the books for my bakery")
    )

    understood = [m.capability for m in response.matched_capabilities]
    assert "capabilities/travel-booking" not in understood
    assert response.results[0].agent.display_name == "Ledgerly"


async def test_without_the_model_search_says_it_ranked_by_text(
    semantic: SemanticRegistry,
) -> None:
    await register(semantic.server.registry, display_name="Mapwise", description="Walking routes.")
    await semantic.embed()
    settings = semantic.job.settings.model_copy(update={"semantic_search_enabled": False})
    async with instance(settings, semantic.backing) as text_only:
        search = search_service_pb2_grpc.SearchServiceStub(text_only.channel)
        found = await search.SearchAgents(pb.SearchAgentsRequest(query="mapwise"))
        missed = await search.SearchAgents(pb.SearchAgentsRequest(query="how do i get to the zoo"))
        find = await search.FindAgents(pb.FindAgentsRequest(query="how do i get to the zoo"))

    assert found.semantic_unavailable and found.results[0].agent.display_name == "Mapwise"
    assert list(found.results[0].match_reasons) == [TEXT]
    assert found.results[0].semantic_similarity == 0
    assert missed.semantic_unavailable and list(missed.results) == []
    assert find.semantic_unavailable
    assert all(list(m.match_reasons) == [TEXT] for m in find.matched_capabilities)


async def test_backfill_embeds_what_has_no_vector(semantic: SemanticRegistry) -> None:
    await semantic.embed()  # whatever earlier tests left for the job
    handle = await register(
        semantic.server.registry,
        display_name="Tallyman",
        description="Counts stock in warehouses and reorders what runs low.",
    )
    embedder = load_embedder()
    assert embedder is not None

    first = await backfill(semantic.job.uow, embedder)
    again = await backfill(semantic.job.uow, embedder)
    # The job, following the outbox, finds the agent already embedded.
    assert (await semantic.embed())["agents_embedded"] == 0

    assert (first, again) == (1, 0)
    response = await semantic.search.SearchAgents(
        pb.SearchAgentsRequest(query="inventory for my shop's storeroom")
    )
    assert response.results[0].agent.name == handle.name
