"""ES256 and RS256 card signatures, made by the official SDK's signer, verify with a key the
agent publishes on its proven domain (the JWK Set the header's `jku` names there); a key
anywhere else, or on a domain not proven, is never used."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from agentregistry.v1 import agent_card_service_pb2 as pb
from agentregistry.v1 import domain_service_pb2, domain_service_pb2_grpc, registry_service_pb2
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.card_support import card_struct, cards_stub
from tests.e2e.search_support import word
from tests.factories import AgentHandle, error_details, register
from tests.sdk_cards import served_v03, served_v1, sign_v03, sign_v1, v03_card, v1_card
from tests.webhook_receiver import Receiver

VERIFIED = pb.CARD_SIGNATURE_STATUS_VERIFIED
UNSUPPORTED = pb.CARD_SIGNATURE_STATUS_UNSUPPORTED_ALGORITHM
INVALID = pb.CARD_SIGNATURE_STATUS_SIGNATURE_INVALID
JWKS = "/keys/jwks.json"


@pytest.fixture
async def owner(registry, auth) -> AsyncIterator[AgentHandle]:
    """An agent signed in, deleted afterwards: the domain recheck job (whose test counts
    the proofs it drops) never finds its proof, once the site serving it has stopped."""
    agent = await register(registry, auth, display_name=f"Signer {word()}")
    yield agent
    await registry.DeleteAgent(
        registry_service_pb2.DeleteAgentRequest(name=agent.name), metadata=agent.metadata
    )


async def _prove(channel: grpc.aio.Channel, agent: AgentHandle, site: Receiver) -> None:
    """The agent proves the site's domain (its key listed in the site's well-known file)."""
    domains = domain_service_pb2_grpc.DomainServiceStub(channel)
    listed = {"public_keys": [base64.b64encode(agent.agent.public_key).decode()]}
    site.bodies["/.well-known/agentregistry.json"] = json.dumps(listed).encode()
    await domains.ClaimDomain(
        domain_service_pb2.ClaimDomainRequest(name=agent.name, domain=f"127.0.0.1:{site.port}"),
        metadata=agent.metadata,
    )
    proven = await domains.VerifyDomain(
        domain_service_pb2.VerifyDomainRequest(name=agent.name), metadata=agent.metadata
    )
    assert proven.HasField("domain_verify_time")


def _publish_keys(site: Receiver, **keys: Any) -> None:
    """A JWK Set of the keys' public halves, each under its `kid`."""
    published = []
    for kid, key in keys.items():
        algorithm = ECAlgorithm if isinstance(key, ec.EllipticCurvePrivateKey) else RSAAlgorithm
        published.append({**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid})
    site.bodies[JWKS] = json.dumps({"keys": published}).encode()


async def _verify(channel: grpc.aio.Channel, agent: AgentHandle, card: dict[str, Any]) -> int:
    request = pb.VerifyAgentCardRequest(agent=agent.name, card=card_struct(card))
    return (await cards_stub(channel).VerifyAgentCard(request)).signature_status


async def test_es256_and_rs256_cards_verify_with_keys_on_the_proven_domain(
    channel, registry, owner, site
) -> None:
    stranger = await register(registry, display_name=f"Unproven {word()}")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    _publish_keys(site, ec1=ec_key, rsa1=rsa_key)
    jku = site.url(JWKS)
    es256 = served_v1(sign_v1(v1_card(f"Lusitano {word()}"), ec_key, "ES256", kid="ec1", jku=jku))
    rs256 = served_v1(sign_v1(v1_card("Lusitano"), rsa_key, "RS256", kid="rsa1", jku=jku))
    legacy = served_v03(sign_v03(v03_card("Lusitano"), ec_key, "ES256", kid="ec1", jku=jku))

    # Before the domain is proven, nothing of the agent's can check them.
    assert await _verify(channel, owner, es256) == UNSUPPORTED
    await _prove(channel, owner, site)

    assert [await _verify(channel, owner, card) for card in (es256, rs256, legacy)] == [
        VERIFIED
    ] * 3
    changed = {**es256, "description": "Something else."}
    assert await _verify(channel, owner, changed) == INVALID
    # Another agent did not prove that domain: the same keys are not its keys.
    assert await _verify(channel, stranger, es256) == UNSUPPORTED
    imported = await cards_stub(channel).ImportAgentCard(
        pb.ImportAgentCardRequest(agent=owner.name, card=card_struct(es256)),
        metadata=owner.metadata,
    )
    assert imported.signature_status == VERIFIED
    assert imported.agent.display_name == es256["name"]


async def test_keys_the_card_names_elsewhere_are_never_used(channel, owner, site) -> None:
    await _prove(channel, owner, site)
    key, other = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    _publish_keys(site, ec1=other)
    elsewhere = Receiver()
    await elsewhere.start()
    try:
        elsewhere.bodies[JWKS] = site.bodies[JWKS]
        _publish_keys(elsewhere, ec1=key)
        cases = {
            # The key is served, but not on the proven domain (another origin).
            "elsewhere": sign_v1(v1_card("A"), key, "ES256", kid="ec1", jku=elsewhere.url(JWKS)),
            "localhost": sign_v1(
                v1_card("A"), key, "ES256", kid="ec1", jku=site.url(JWKS, host="localhost")
            ),
            # On the domain, but no key of that kid there.
            "unknown kid": sign_v1(v1_card("A"), key, "ES256", kid="ec9", jku=site.url(JWKS)),
            # No jku at all: only the registered Ed25519 key is left, for EdDSA only.
            "no jku": sign_v1(v1_card("A"), key, "ES256", kid="ec1"),
        }
        statuses = {
            name: await _verify(channel, owner, served_v1(card)) for name, card in cases.items()
        }
    finally:
        await elsewhere.stop()
    assert statuses == dict.fromkeys(cases, UNSUPPORTED)
    # The domain's key ec1 is `other`: a card signed by `key` under that kid is forged.
    forged = served_v1(sign_v1(v1_card("A"), key, "ES256", kid="ec1", jku=site.url(JWKS)))
    assert await _verify(channel, owner, forged) == INVALID
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await cards_stub(channel).ImportAgentCard(
            pb.ImportAgentCardRequest(agent=owner.name, card=card_struct(forged)),
            metadata=owner.metadata,
        )
    assert error_details(caught.value).reason == "CARD_SIGNATURE_INVALID"
