"""A2A card signatures: the JCS payload, EdDSA verification and every failure's status."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from server.cards.signatures import SignatureStatus, signed_payload, verify_card
from tests.card_support import sample_card, signed
from tests.factories import raw_public_key


def test_payload_is_canonical_and_leaves_out_signatures() -> None:
    card = {"b": 1.0, "a": "é", "signatures": [{"protected": "x", "signature": "y"}]}
    assert signed_payload(card) == '{"a":"é","b":1}'.encode()


def test_statuses() -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    public = raw_public_key(key)
    card = sample_card("Card")
    reordered = dict(reversed(list(signed(card, key).items())))

    assert verify_card(card, public).status is SignatureStatus.UNSIGNED
    assert verify_card(signed(card, key), public).status is SignatureStatus.VERIFIED
    # Key order and other signers do not matter: one good signature is enough.
    assert verify_card(reordered, public).status is SignatureStatus.VERIFIED
    assert verify_card(signed(signed(card, other), key), public).status is SignatureStatus.VERIFIED
    assert verify_card(signed(card, other), public).status is SignatureStatus.SIGNATURE_INVALID
    changed = {**signed(card, key), "name": "Other"}
    assert verify_card(changed, public).status is SignatureStatus.SIGNATURE_INVALID
    es256 = signed(card, key, alg="ES256")
    assert verify_card(es256, public).status is SignatureStatus.UNSUPPORTED_ALGORITHM
    for entry in ({"protected": "!!", "signature": "AA"}, {"signature": "AA"}, "jws"):
        garbled = {**card, "signatures": [entry]}
        assert verify_card(garbled, public).status is SignatureStatus.MALFORMED
