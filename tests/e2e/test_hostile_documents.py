"""Hostile agent cards and JWS headers (inline, over gRPC and through the JSON edge) are
refused as INVALID_ARGUMENT naming the card field, never INTERNAL, and write nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import grpc
import httpx
import pytest
from agentregistry.v1 import agent_card_service_pb2 as pb
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.domain import documents
from tests.card_support import card_struct, cards_stub, sample_card, signed
from tests.e2e.search_support import word
from tests.factories import error_details, raw_public_key, register, register_signature

INVALID = grpc.StatusCode.INVALID_ARGUMENT
LIMIT = "DOCUMENT_LIMIT_EXCEEDED"
NUMBER = "DOCUMENT_NUMBER_INVALID"


def _import(card: dict[str, Any], key: Ed25519PrivateKey) -> pb.ImportAgentCardRequest:
    request = pb.ImportAgentCardRequest(
        public_key=raw_public_key(key), signature=register_signature(key)
    )
    request.card.CopyFrom(card_struct(card))
    return request


def _reason(response: httpx.Response) -> str:
    """ErrorInfo.reason from the edge's JSON error body."""
    details = response.json().get("details", [])
    infos = [d for d in details if d.get("@type", "").endswith("google.rpc.ErrorInfo")]
    return str(infos[0]["reason"]) if infos else ""


async def _refused(call: Any) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return error_details(caught.value)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _deep_header(depth: int) -> dict[str, str]:
    """A JWS entry whose protected header nests `depth` arrays deep."""
    header = b'{"alg":"EdDSA","x":' + b"[" * depth + b"]" * depth + b"}"
    return {"protected": _b64url(header), "signature": _b64url(bytes(64))}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def _with_skills(card: dict[str, Any], skills: list[Any]) -> dict[str, Any]:
    return {**card, "skills": skills}


# (card change, expected reason, expected field)
HOSTILE = {
    "tags_a_number": (
        lambda c: _with_skills(c, [{"id": "x", "tags": ["ok"]}, {"id": "y", "tags": 7}]),
        "INVALID_ARGUMENT",
        "card.skills[1].tags",
    ),
    "tag_not_a_string": (
        lambda c: _with_skills(c, [{"id": "x", "tags": ["ok", {"no": 1}]}]),
        "INVALID_ARGUMENT",
        "card.skills[0].tags",
    ),
    "skill_name_a_list": (
        lambda c: _with_skills(c, [{"id": "x", "name": ["no"]}]),
        "INVALID_ARGUMENT",
        "card.skills[0].name",
    ),
    "nan": (
        lambda c: {**c, "capabilities": {"score": float("nan")}},
        NUMBER,
        "card.capabilities.score",
    ),
    "infinity": (lambda c: {**c, "rating": float("inf")}, NUMBER, "card.rating"),
    "minus_infinity": (
        lambda c: _with_skills(c, [{"id": "x", "weight": float("-inf")}]),
        NUMBER,
        "card.skills[0].weight",
    ),
    "too_deep": (lambda c: {**c, "extensions": _nested(documents.MAX_DEPTH)}, LIMIT, None),
    "too_many_skills": (
        lambda c: _with_skills(c, [{"id": f"s{i}"} for i in range(documents.CARD_MAX_SKILLS + 1)]),
        LIMIT,
        "card.skills",
    ),
    "twenty_thousand_skills": (
        lambda c: _with_skills(c, [{"id": f"s{i}", "tags": ["t"]} for i in range(20_000)]),
        LIMIT,
        "card",
    ),
    "too_many_tags": (
        lambda c: _with_skills(
            c, [{"id": "x", "tags": [f"t{i}" for i in range(documents.CARD_MAX_SKILL_TAGS + 1)]}]
        ),
        LIMIT,
        "card.skills[0].tags",
    ),
    "too_many_interfaces": (
        lambda c: {
            **c,
            "additionalInterfaces": [{"url": "https://a.example.com", "transport": "JSONRPC"}]
            * (documents.CARD_MAX_INTERFACES + 1),
        },
        LIMIT,
        "card.additionalInterfaces",
    ),
    "too_many_signatures": (
        lambda c: {**c, "signatures": [_deep_header(1)] * (documents.CARD_MAX_SIGNATURES + 1)},
        LIMIT,
        "card.signatures",
    ),
    "header_too_long": (
        lambda c: {
            **c,
            "signatures": [
                {"protected": "e" * (documents.JWS_MAX_HEADER_CHARS + 1), "signature": "AA"}
            ],
        },
        LIMIT,
        "card.signatures[0].protected",
    ),
    "header_50000_deep": (lambda c: {**c, "signatures": [_deep_header(50_000)]}, LIMIT, "card"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_inline_cards_are_invalid_and_write_nothing(channel, case) -> None:
    change, reason, field = HOSTILE[case]
    key = Ed25519PrivateKey.generate()
    card = sample_card(f"Hostile {word()}")
    cards = cards_stub(channel)

    details = await _refused(cards.ImportAgentCard(_import(change(card), key)))

    assert (details.code, details.reason) == (INVALID, reason)
    if field is not None:
        assert field in details.fields
    # Nothing was registered with the key: the honest card still registers.
    response = await cards.ImportAgentCard(_import(signed(card, key), key))
    assert response.created


async def test_verifying_a_hostile_card_is_invalid(channel, registry) -> None:
    agent = await register(registry)
    cards = cards_stub(channel)
    card = sample_card(f"Verified {word()}")

    for signatures, reason in [
        ([_deep_header(50_000)], LIMIT),
        ([_deep_header(1)] * (documents.CARD_MAX_SIGNATURES + 1), LIMIT),
    ]:
        request = pb.VerifyAgentCardRequest(agent=agent.name)
        request.card.CopyFrom(card_struct({**card, "signatures": signatures}))
        details = await _refused(cards.VerifyAgentCard(request))
        assert (details.code, details.reason) == (INVALID, reason)
    nan = pb.VerifyAgentCardRequest(agent=agent.name)
    nan.card.CopyFrom(card_struct({**card, "rating": float("nan")}))
    details = await _refused(cards.VerifyAgentCard(nan))
    assert (details.code, details.reason, details.fields) == (INVALID, NUMBER, ["card.rating"])


async def test_a_deep_header_within_the_size_limit_is_malformed(channel, registry) -> None:
    """Deep enough to exhaust json.loads' recursion, short enough to pass the length limit."""
    entry = _deep_header(1_200)
    assert len(entry["protected"]) <= documents.JWS_MAX_HEADER_CHARS
    agent = await register(registry)
    card = {**sample_card(f"Deep {word()}"), "signatures": [entry]}
    cards = cards_stub(channel)

    request = pb.VerifyAgentCardRequest(agent=agent.name)
    request.card.CopyFrom(card_struct(card))
    verified = await cards.VerifyAgentCard(request)
    key = Ed25519PrivateKey.generate()
    imported = await _refused(cards.ImportAgentCard(_import(card, key)))

    assert verified.signature_status == pb.CARD_SIGNATURE_STATUS_MALFORMED
    assert (imported.code, imported.reason) == (INVALID, "CARD_SIGNATURE_INVALID")


async def test_hostile_cards_through_the_json_edge_are_400(
    http: httpx.AsyncClient, registry
) -> None:
    key = Ed25519PrivateKey.generate()
    body = {
        "card": _with_skills(sample_card(f"Edge {word()}"), [{"id": "x", "tags": 7}]),
        "publicKey": base64.b64encode(raw_public_key(key)).decode(),
        "signature": base64.b64encode(register_signature(key)).decode(),
    }
    tags = await http.post("/v1/agents:importCard", json=body)
    agent = await register(registry)
    deep = {"card": {**sample_card("Deep"), "signatures": [_deep_header(50_000)]}}
    header = await http.post(f"/v1/{agent.name}:verifyCard", json=deep)
    huge = await http.post(
        "/v1/agents:importCard",
        content=json.dumps(body).replace('"tags": 7', '"tags": 1e999').encode(),
        headers={"content-type": "application/json"},
    )

    assert (tags.status_code, _reason(tags)) == (400, "INVALID_ARGUMENT"), tags.text
    assert (header.status_code, _reason(header)) == (400, LIMIT), header.text
    assert huge.status_code == 400, huge.text  # the edge itself refuses a number past a double
