"""Fetching and checking a domain proof: the agent's key listed in the domain's well-known file.

The fetch goes through the webhook SSRF guard (public addresses only, connecting to
the address that passed the check), follows no redirects, reads at most
PROOF_MAX_BYTES once decoded, within one deadline, and parses within the limits of
server.domain.documents. Loopback (and plain http to it) is allowed only when the setting says so,
as for webhooks: local runs and tests.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import httpx

from server.domain import documents
from server.webhooks import ssrf

WELL_KNOWN_PATH = "/.well-known/agentregistry.json"
MAX_DOMAIN = 253
USER_AGENT = "agentregistry-domain-check/1"
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
DOMAIN = re.compile(rf"^{_LABEL}(\.{_LABEL})+$")
_LOOPBACK_HOST = re.compile(r"^(127\.0\.0\.1|localhost):[0-9]{1,5}$")


class ProofFailed(Exception):
    """The proof does not hold; `str()` says why."""


def normalised_domain(value: str, allow_loopback: bool) -> str | None:
    """The domain lower-cased, or None if it is not a host name (a loopback host:port
    is accepted only with allow_loopback, for tests)."""
    domain = value.strip().lower().rstrip(".")
    if len(domain) > MAX_DOMAIN:
        return None
    if allow_loopback and _LOOPBACK_HOST.fullmatch(domain):
        return domain
    return domain if DOMAIN.fullmatch(domain) else None


def proof_url(domain: str, allow_loopback: bool) -> str:
    scheme = "http" if allow_loopback and _LOOPBACK_HOST.fullmatch(domain) else "https"
    return f"{scheme}://{domain}{WELL_KNOWN_PATH}"


def listed_keys(body: bytes) -> list[bytes]:
    try:
        document: Any = documents.loads(body, max_bytes=documents.PROOF_MAX_BYTES)
    except documents.DocumentRefused as exc:
        raise ProofFailed(f"the file {exc}") from exc
    encoded = document.get("public_keys") if isinstance(document, dict) else None
    if not isinstance(encoded, list) or not all(isinstance(k, str) for k in encoded):
        raise ProofFailed('the file is not {"public_keys": [base64, ...]}')
    try:
        return [base64.b64decode(k, validate=True) for k in encoded]
    except (ValueError, binascii.Error) as exc:
        raise ProofFailed('the file is not {"public_keys": [base64, ...]}') from exc


async def fetch(
    client: httpx.AsyncClient, domain: str, allow_loopback: bool, *, deadline_s: float
) -> bytes:
    try:
        return await ssrf.fetch_checked(
            client,
            proof_url(domain, allow_loopback),
            allow_loopback=allow_loopback,
            max_bytes=documents.PROOF_MAX_BYTES,
            headers={"user-agent": USER_AGENT},
            deadline_s=deadline_s,
        )
    except ssrf.RefusedUrl as exc:
        raise ProofFailed(f"refused: {exc}") from exc
    except ssrf.FetchFailed as exc:
        raise ProofFailed(f"{WELL_KNOWN_PATH}: {exc}") from exc


async def check(
    client: httpx.AsyncClient,
    domain: str,
    public_key: bytes,
    allow_loopback: bool,
    *,
    deadline_s: float,
) -> None:
    """Raises ProofFailed unless the domain's file lists `public_key`."""
    body = await fetch(client, domain, allow_loopback, deadline_s=deadline_s)
    if public_key not in listed_keys(body):
        raise ProofFailed(f"{WELL_KNOWN_PATH} does not list the agent's current public key")
