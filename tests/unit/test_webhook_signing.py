"""Webhook secrets and signatures in the Standard Webhooks format, checked by its library."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
import standardwebhooks

from server.webhooks import signing


def _headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "webhook-id": "evt_42",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(secret, "evt_42", timestamp, body),
    }


def test_new_secrets_are_whsec_base64_of_32_bytes() -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert signing.new_secret() != secret


def test_the_library_verifies_our_signature_and_refuses_tampering() -> None:
    secret, body = signing.new_secret(), b'{"id":"42","type":"AGENT_UPDATED"}'
    headers = _headers(secret, body, int(time.time()))
    assert standardwebhooks.Webhook(secret).verify(body, headers)["id"] == "42"
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(body.replace(b"42", b"43"), headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(signing.new_secret()).verify(body, headers)


def test_a_secret_from_before_the_standard_format_keeps_its_key() -> None:
    legacy = "whsec_" + "A-b_" * 10 + "xyz"  # 43 url-safe characters, as issued before
    signed = signing.signature(legacy, "evt_1", 1700000000, b"{}")
    expected = hmac.new(legacy.encode(), b"evt_1.1700000000.{}", hashlib.sha256).digest()
    assert signed == "v1," + base64.b64encode(expected).decode()
