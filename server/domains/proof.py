"""Fetching and checking a domain proof: the agent's key listed in the domain's well-known file.

The fetch goes through the webhook SSRF guard (public addresses only, connecting to
the address that passed the check), follows no redirects and reads at most
MAX_BYTES. Loopback (and plain http to it) is allowed only when the setting says so,
as for webhooks: local runs and tests.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

import httpx

from server.webhooks import ssrf

WELL_KNOWN_PATH = "/.well-known/agentregistry.json"
MAX_BYTES = 64 * 1024
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
        document = json.loads(body)
        encoded = document["public_keys"]
        if not isinstance(encoded, list):
            raise TypeError
        return [base64.b64decode(str(k), validate=True) for k in encoded]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ProofFailed('the file is not {"public_keys": [base64, ...]}') from exc


async def fetch(client: httpx.AsyncClient, domain: str, allow_loopback: bool) -> bytes:
    try:
        target = await ssrf.resolve(proof_url(domain, allow_loopback), allow_loopback)
    except ssrf.RefusedUrl as exc:
        raise ProofFailed(f"refused: {exc}") from exc
    try:
        return await ssrf.get_checked(client, target, MAX_BYTES, {"user-agent": USER_AGENT})
    except ssrf.FetchFailed as exc:
        raise ProofFailed(f"{WELL_KNOWN_PATH}: {exc}") from exc


async def check(
    client: httpx.AsyncClient, domain: str, public_key: bytes, allow_loopback: bool
) -> None:
    """Raises ProofFailed unless the domain's file lists `public_key`."""
    if public_key not in listed_keys(await fetch(client, domain, allow_loopback)):
        raise ProofFailed(f"{WELL_KNOWN_PATH} does not list the agent's current public key")
