"""Domain names accepted for a claim and the well-known file's format."""

from __future__ import annotations

import base64
import json

import pytest

from server.domain_proofs.proof import ProofFailed, listed_keys, normalised_domain, proof_url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Agents.Example.COM.", "agents.example.com"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("example", None),  # one label: not a public host name
        ("-bad.example.com", None),
        ("a..example.com", None),
        ("https://example.com", None),
        ("example.com/path", None),
        ("example.com:443", None),
        ("127.0.0.1:8080", None),  # loopback only with the setting
        ("a" * 64 + ".example.com", None),
    ],
)
def test_claimable_domains(value: str, expected: str | None) -> None:
    assert normalised_domain(value, allow_loopback=False) == expected


def test_loopback_hosts_only_with_the_setting() -> None:
    assert normalised_domain("127.0.0.1:8080", allow_loopback=True) == "127.0.0.1:8080"
    assert (
        proof_url("127.0.0.1:8080", True) == "http://127.0.0.1:8080/.well-known/agentregistry.json"
    )
    assert proof_url("example.com", True) == "https://example.com/.well-known/agentregistry.json"


def test_the_file_lists_base64_keys() -> None:
    key = bytes(range(32))
    body = json.dumps({"public_keys": [base64.b64encode(key).decode()]}).encode()
    assert listed_keys(body) == [key]
    for bad in [b"not json", b"{}", b'{"public_keys": "abc"}', b'{"public_keys": ["%%%"]}']:
        with pytest.raises(ProofFailed):
            listed_keys(bad)
