"""Keys bound to an agent's proven domain: the JWK Set a signature's `jku` names there.

A2A agents sign with ES256, RS256 and other JWS algorithms, with keys the registry never
registered (it holds one Ed25519 key per agent). Such a key counts only when the agent
has proven a domain (server/domains) and the signature's protected header names, as its
`jku`, a JWK Set at that very origin (`https://<domain>/...`; plain http only for a
loopback domain where loopback proofs are allowed): whoever controls the domain the
agent proved vouches for the key, not the card. A `jku` elsewhere and a `jwk` in the
header are the card's own say-so and are never used. The set is fetched like a domain
proof (SSRF guard, no redirects, 64 KiB, one deadline), all sets at once; a set that
cannot be fetched or read gives no key, so its signatures are UNSUPPORTED_ALGORITHM.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import jwt

from server.cards import signatures
from server.cards.fetch import get_json
from server.domain import documents
from server.domain_proofs.proof import proof_url
from server.webhooks import ssrf

log = logging.getLogger("agentregistry.cards")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _bound_jkus(card: dict[str, Any], origin: str) -> set[str]:
    """The `jku`s of the card's signatures that point into `origin`."""
    found: set[str] = set()
    for entry in card.get("signatures") or []:
        try:
            header = signatures.protected_header(entry["protected"])
        except (KeyError, TypeError, ValueError):
            continue
        jku = header.get("jku")
        if isinstance(jku, str) and "@" not in urlsplit(jku).netloc and _origin(jku) == origin:
            found.add(jku)
    return found


# A JWK as published (its own `kid` and `alg`, if any) and the key PyJWT read from it.
Jwk = tuple[dict[str, Any], jwt.PyJWK]


def _public_keys(document: Any) -> list[Jwk]:
    """The set's public keys PyJWT can use; private members (`d`) and unusable keys are
    skipped."""
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return []
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or "d" in entry:
            continue
        try:
            keys.append((entry, jwt.PyJWK(entry)))
        except jwt.PyJWTError:
            continue
    return keys


async def _fetch(jku: str, allow_loopback: bool) -> list[Jwk]:
    try:
        document = await get_json(
            jku, allow_loopback=allow_loopback, max_bytes=documents.PROOF_MAX_BYTES
        )
    except (ssrf.RefusedUrl, ssrf.FetchFailed, documents.DocumentRefused) as exc:
        log.info("card signing keys at %s not read: %s", jku, exc)
        return []
    return _public_keys(document)


def _pick(keys: list[Jwk], header: Mapping[str, Any]) -> Any:
    """The key the header's `kid` names (the only key, when the set holds one and no kid
    is given), if its own `alg`, when stated, is the header's."""
    kid = header.get("kid")
    candidates = [k for k in keys if k[0].get("kid") == kid] if kid is not None else keys
    if len(candidates) != 1:
        return None
    ((published, key),) = candidates
    return key.key if published.get("alg", header["alg"]) == header["alg"] else None


async def domain_keys(
    card: dict[str, Any], domain: str | None, *, allow_loopback: bool
) -> signatures.KeyFor:
    """The keys the card's signatures name on the agent's proven `domain` (None: none)."""
    if not domain:
        return lambda header: None
    origin = _origin(proof_url(domain, allow_loopback))
    jkus = sorted(_bound_jkus(card, origin))
    fetched = await asyncio.gather(*(_fetch(jku, allow_loopback) for jku in jkus))
    sets = dict(zip(jkus, fetched, strict=True))

    def key_for(header: Mapping[str, Any]) -> Any:
        keys = sets.get(str(header.get("jku")))
        return _pick(keys, header) if keys else None

    return key_for
