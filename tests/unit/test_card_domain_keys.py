"""Which key of a domain's JWK Set checks a signature: the one its `kid` names, public,
of the header's algorithm; and only `jku`s at the proven domain's origin are read."""

from __future__ import annotations

import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from server.cards.domain_keys import _bound_jkus, _pick, _public_keys
from server.cards.signatures import b64url_encode


def _jwk(kid: str, **fields: Any) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {**ECAlgorithm.to_jwk(key, as_dict=True), "kid": kid, **fields}


def _entry(header: dict[str, Any]) -> dict[str, str]:
    return {"protected": b64url_encode(json.dumps(header).encode()), "signature": "AA"}


def test_the_kid_picks_one_public_key_of_the_headers_algorithm() -> None:
    private = ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()), as_dict=True)
    keys = _public_keys(
        {"keys": [_jwk("a"), _jwk("b", alg="ES256"), _jwk("c", alg="ES384"), private, "x", {}]}
    )

    assert [published["kid"] for published, _ in keys] == ["a", "b", "c"]  # no private key
    assert _pick(keys, {"alg": "ES256", "kid": "a"}) is not None
    assert _pick(keys, {"alg": "ES256", "kid": "b"}) is not None
    assert _pick(keys, {"alg": "ES256", "kid": "c"}) is None  # the key says ES384
    assert _pick(keys, {"alg": "ES256", "kid": "z"}) is None
    assert _pick(keys, {"alg": "ES256"}) is None  # no kid among several keys
    assert _pick(keys[:1], {"alg": "ES256"}) is not None
    assert _public_keys({"keys": "nope"}) == _public_keys([]) == []


def test_only_jkus_at_the_proven_origin_are_read() -> None:
    origin = "https://agents.example.com"
    card = {
        "signatures": [
            _entry({"alg": "ES256", "jku": "https://agents.example.com/jwks.json"}),
            _entry({"alg": "ES256", "jku": "HTTPS://AGENTS.EXAMPLE.COM/other.json"}),
            _entry({"alg": "ES256", "jku": "http://agents.example.com/jwks.json"}),
            _entry({"alg": "ES256", "jku": "https://agents.example.com.evil.net/jwks.json"}),
            _entry({"alg": "ES256", "jku": "https://x@agents.example.com/jwks.json"}),
            _entry({"alg": "ES256", "jku": "https://agents.example.com:8443/jwks.json"}),
            _entry({"alg": "ES256"}),
            {"protected": "not base64!", "signature": "AA"},
        ]
    }
    assert _bound_jkus(card, origin) == {
        "https://agents.example.com/jwks.json",
        "HTTPS://AGENTS.EXAMPLE.COM/other.json",
    }
