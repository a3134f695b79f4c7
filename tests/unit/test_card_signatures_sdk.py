"""Cards signed by the official A2A SDK verify: both protocol lines, EdDSA, ES256, RS256."""

from __future__ import annotations

import json
from typing import Any

from a2a.client.card_resolver import parse_agent_card
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.cards.signatures import SignatureStatus, verify_card, verify_with
from tests.factories import raw_public_key
from tests.sdk_cards import served_v03, served_v1, sign_v03, sign_v1, v03_card, v1_card

VERIFIED = SignatureStatus.VERIFIED
INVALID = SignatureStatus.SIGNATURE_INVALID


def test_a_1x_card_as_an_sdk_server_serves_it_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    public = raw_public_key(key)
    served = served_v1(sign_v1(v1_card("Lusitano"), key))
    # What a 0.3 client reads is served beside the 1.x card, outside the signed form.
    assert served["protocolVersion"] == "0.3" and served["preferredTransport"] == "JSONRPC"
    assert served["securitySchemes"]["key"]["type"] == "apiKey"

    verification = verify_card(served, public)

    assert verification.status is VERIFIED
    # Only the 1.x fields are vouched for: the served 0.3 `url` is not among them.
    assert "url" not in verification.card
    assert verification.card["supportedInterfaces"] == served["supportedInterfaces"]
    for changed in (
        {**served, "name": "Other"},
        {**served, "supportedInterfaces": [{"url": "https://attacker.example.net/a2a"}]},
    ):
        assert verify_card(changed, public).status is INVALID


def test_a_1x_card_without_legacy_fields_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    served = served_v1(sign_v1(v1_card("Lusitano", legacy_interface=False), key))
    assert "url" not in served
    assert verify_card(served, raw_public_key(key)).status is VERIFIED


def test_a_03_card_with_its_defaults_and_non_ascii_text_verifies() -> None:
    key = Ed25519PrivateKey.generate()
    public = raw_public_key(key)
    served = served_v03(sign_v03(v03_card("Lusitano"), key))
    # The served card carries the defaults the signer left out.
    assert served["protocolVersion"] == "0.3.0" and served["preferredTransport"] == "JSONRPC"

    assert verify_card(served, public).status is VERIFIED
    assert verify_card({**served, "url": "https://x.example/a2a"}, public).status is INVALID
    # A default value is the same card; another value is not.
    assert verify_card({**served, "protocolVersion": "0.2.9"}, public).status is INVALID


def test_es256_and_rs256_verify_with_the_key_bound_to_them() -> None:
    def keys(alg: str) -> Any:
        if alg == "ES256":
            return ec.generate_private_key(ec.SECP256R1())
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    registered = raw_public_key(Ed25519PrivateKey.generate())
    for alg in ("ES256", "RS256"):
        key = keys(alg)
        for served in (
            served_v1(sign_v1(v1_card("Lusitano"), key, alg)),
            served_v03(sign_v03(v03_card("Lusitano"), key, alg)),
        ):
            public = key.public_key()
            assert verify_with(served, lambda header, p=public: p).status is VERIFIED
            wrong = keys(alg).public_key()
            assert verify_with(served, lambda header, w=wrong: w).status is INVALID
            # The registry holds an Ed25519 key: nothing of the agent's checks these.
            status = verify_card(served, registered).status
            assert status is SignatureStatus.UNSUPPORTED_ALGORITHM


def test_none_and_shared_secret_algorithms_are_never_checked() -> None:
    key = Ed25519PrivateKey.generate()
    served = served_v1(sign_v1(v1_card("Lusitano"), b"secret-secret-secret-secret-32b!", "HS256"))
    status = verify_with(served, lambda header: b"secret-secret-secret-secret-32b!").status
    assert status is SignatureStatus.UNSUPPORTED_ALGORITHM
    assert verify_card(served, raw_public_key(key)).status is SignatureStatus.UNSUPPORTED_ALGORITHM


def test_a_hand_written_1x_card_with_its_defaults_spelled_out_verifies() -> None:
    """Written by hand with `false` and empty fields the SDK leaves out, signed by the SDK
    after parsing it (as an agent built on the SDK would load its card from a file)."""
    key = Ed25519PrivateKey.generate()
    written: dict[str, Any] = {
        "name": "Lusitano",
        "description": "Translates.",
        "version": "1.0.0",
        "iconUrl": "",
        "supportedInterfaces": [
            {"url": "https://t.example.com/a2a", "protocolBinding": "JSONRPC",
             "protocolVersion": "1.0", "tenant": ""}
        ],
        "capabilities": {
            "streaming": False,
            "extensions": [{"uri": "https://ext.example/v1", "required": False, "params": {}}],
        },
        "securitySchemes": {
            "oauth": {"oauth2SecurityScheme": {"flows": {"authorizationCode": {
                "authorizationUrl": "https://auth.example/a", "tokenUrl": "https://auth.example/t",
                "scopes": {"read": "Read"}, "pkceRequired": False}}}}
        },
        "defaultInputModes": ["text/plain"],
        "defaultOutputModes": ["text/plain"],
        "skills": [{"id": "t", "name": "T", "description": "D", "tags": ["x"], "examples": []}],
    }  # fmt: skip
    signed = sign_v1(parse_agent_card(json.loads(json.dumps(written))), key)
    served = {**written, "signatures": served_v1(signed)["signatures"]}

    assert verify_card(served, raw_public_key(key)).status is VERIFIED
    # `streaming` has presence in 1.x: `false` is signed, and `true` is another card.
    flipped = {**served, "capabilities": {**served["capabilities"], "streaming": True}}
    assert verify_card(flipped, raw_public_key(key)).status is INVALID
