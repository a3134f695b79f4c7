"""Fetches on a client's behalf (card_uri imports, domain proofs, webhook deliveries) end
within one deadline and never inflate a body past its limit; hostile fetched documents are
refused with the documented status, never INTERNAL."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import httpx
import pytest
from agentregistry.v1 import agent_card_service_pb2 as pb
from agentregistry.v1 import (
    agent_card_service_pb2_grpc,
    domain_service_pb2,
    domain_service_pb2_grpc,
)
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.backing import BackingServices
from server.domain import documents
from server.domain.changes import ChangeEvent
from server.domain.webhooks import DueDelivery
from server.settings import Settings
from server.webhooks import sender, ssrf
from tests.card_support import sample_card
from tests.e2e.search_support import word
from tests.e2e.servers import Instance, instance
from tests.factories import error_details, raw_public_key, register, register_signature
from tests.hostile_sites import gzip_bomb, hostile_site

# The caller's deadline: generous, well past the registry's own fetch deadlines (5 s).
CLIENT_DEADLINE_S = 25.0
FAILED = grpc.StatusCode.FAILED_PRECONDITION
DEEP = b"[" * 30_000 + b"]" * 30_000


@pytest.fixture(scope="module")
async def loopback_cards(settings: Settings, backing: BackingServices) -> AsyncIterator[Instance]:
    """A server allowed to fetch cards from 127.0.0.1, as local runs are."""
    local = settings.model_copy(update={"webhook_allow_loopback": True})
    async with instance(local, backing) as server:
        yield server


async def _import(server: Instance, card_uri: str) -> tuple[grpc.StatusCode, str, list[str]]:
    key = Ed25519PrivateKey.generate()
    request = pb.ImportAgentCardRequest(
        card_uri=card_uri, public_key=raw_public_key(key), signature=register_signature(key)
    )
    stub = agent_card_service_pb2_grpc.AgentCardServiceStub(server.channel)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.ImportAgentCard(request, timeout=CLIENT_DEADLINE_S)
    details = error_details(caught.value)
    return details.code, details.reason, details.fields


def _card_with(**fields: object) -> bytes:
    return json.dumps(sample_card(f"Fetched {word()}", **fields), separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("drip", b""),
        ("bomb", b""),
        ("body", DEEP),
        ("body", b'{"name": "x", "rating": NaN}'),
        ("body", b'{"name": "x", "rating": -Infinity}'),
        ("body", b'{"name": "x", "rating": 1e999}'),
        ("body", b'{"name": "x", "rating": 123456789012345678901234567890}'),
        ("body", b'{"name": "\\ud800"}'),
    ],
    ids=[
        "drip",
        "gzip_bomb",
        "30000_deep",
        "nan",
        "infinity",
        "huge_float",
        "huge_int",
        "surrogate",
    ],
)
async def test_hostile_card_uris_fail_as_a_precondition(loopback_cards, kind, body) -> None:
    async with hostile_site(kind, body) as base:
        code, reason, _ = await _import(loopback_cards, f"{base}/card.json")
    assert (code, reason) == (FAILED, "CARD_FETCH_FAILED")


async def test_a_fetched_card_of_twenty_thousand_skills_is_too_many(loopback_cards) -> None:
    body = _card_with(skills=[{}] * 20_000)
    assert len(body) <= documents.CARD_MAX_BYTES  # within the size limit: refused by count
    async with hostile_site("body", body) as base:
        refused = await _import(loopback_cards, f"{base}/card.json")
    assert refused == (
        grpc.StatusCode.INVALID_ARGUMENT,
        documents.LIMIT_EXCEEDED,
        ["card.skills"],
    )


async def test_a_fetched_card_with_number_tags_is_invalid(loopback_cards) -> None:
    body = _card_with(skills=[{"id": "x", "tags": 7}])
    async with hostile_site("body", body) as base:
        refused = await _import(loopback_cards, f"{base}/card.json")
    assert refused == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_ARGUMENT",
        ["card.skills[0].tags"],
    )


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_compressed_cards_within_the_limit_still_import(loopback_cards, encoding) -> None:
    key = Ed25519PrivateKey.generate()
    request = pb.ImportAgentCardRequest(
        public_key=raw_public_key(key), signature=register_signature(key)
    )
    stub = agent_card_service_pb2_grpc.AgentCardServiceStub(loopback_cards.channel)
    async with hostile_site(encoding, _card_with()) as base:
        request.card_uri = f"{base}/card.json"
        response = await stub.ImportAgentCard(request, timeout=CLIENT_DEADLINE_S)
    assert response.created


@pytest.mark.parametrize(("kind", "body"), [("drip", b""), ("bomb", b""), ("body", DEEP)])
async def test_hostile_domain_proofs_fail_the_proof(channel, registry, auth, kind, body) -> None:
    domains = domain_service_pb2_grpc.DomainServiceStub(channel)
    agent = await register(registry, auth)
    async with hostile_site(kind, body) as base:
        claim = domain_service_pb2.ClaimDomainRequest(
            name=agent.name, domain=base.removeprefix("http://")
        )
        await domains.ClaimDomain(claim, metadata=agent.metadata)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await domains.VerifyDomain(
                domain_service_pb2.VerifyDomainRequest(name=agent.name),
                metadata=agent.metadata,
                timeout=CLIENT_DEADLINE_S,
            )
    details = error_details(caught.value)
    assert (details.code, details.reason) == (FAILED, "DOMAIN_PROOF_FAILED")


async def test_a_gzip_bomb_is_never_inflated_past_the_limit() -> None:
    """The refusal alone could come after inflating the bomb chunk by chunk; the traced peak
    shows it did not (a single 64 KiB chunk of the bomb inflates to about 64 MiB)."""
    limit = documents.CARD_MAX_BYTES
    bomb = gzip_bomb()
    async with hostile_site("bomb") as base, httpx.AsyncClient(trust_env=False) as client:
        tracemalloc.start()
        try:
            with pytest.raises(ssrf.FetchFailed, match="larger than"):
                await ssrf.fetch_checked(
                    client,
                    f"{base}/card.json",
                    allow_loopback=True,
                    max_bytes=limit,
                    headers={},
                    deadline_s=CLIENT_DEADLINE_S,
                )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 4 * 1024 * 1024 + 4 * len(bomb)


async def test_a_webhook_receiver_dripping_its_headers_times_out() -> None:
    event = ChangeEvent(1, "AGENT_UPDATED", "ag_drip", datetime.now(UTC))
    async with (
        hostile_site("drip-headers") as base,
        httpx.AsyncClient(timeout=CLIENT_DEADLINE_S, trust_env=False) as client,
    ):
        due = DueDelivery(1, "wh_drip", "ag_drip", f"{base}/hook", "secret", 0, event)
        outcome = await sender.attempt(client, due, True, deadline_s=2.0)
    assert (outcome.succeeded, outcome.error) == (False, "timed out")
