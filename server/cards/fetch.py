"""Fetching a card from its URL through the webhook SSRF guard (server.webhooks.ssrf).

The host must resolve to public addresses only (loopback when allowed, for local
runs and tests), and the request goes to the address that passed, so DNS rebinding
cannot turn it inward. No redirects, a short timeout and a size cap: the registry
fetches on a client's behalf and must not be made to wait or read without bound.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx

from server.cards.mapping import WELL_KNOWN_PATH
from server.domain.errors import FailedPrecondition, InvalidArgument
from server.webhooks import ssrf

MAX_CARD_BYTES = 64 * 1024
TIMEOUT_S = 5.0
USER_AGENT = "agentregistry-cards/1"


def card_url(uri: str) -> str:
    """The card's URL: as given, or the agent's base URL plus the well-known path."""
    parts = urlsplit(uri)
    if parts.path in ("", "/") and not parts.query:
        return parts._replace(path=WELL_KNOWN_PATH).geturl()
    return uri


def _failed(why: str) -> FailedPrecondition:
    return FailedPrecondition(f"the card could not be fetched: {why}", reason="CARD_FETCH_FAILED")


async def fetch_card(uri: str, *, allow_loopback: bool) -> dict[str, Any]:
    try:
        target = await ssrf.resolve(card_url(uri), allow_loopback)
    except ssrf.RefusedUrl as exc:
        raise InvalidArgument.field("card_uri", str(exc), reason="CARD_URL_REFUSED") from exc
    headers = {"accept": "application/json", "user-agent": USER_AGENT}
    async with httpx.AsyncClient(timeout=TIMEOUT_S, trust_env=False) as client:
        try:
            body = await ssrf.get_checked(client, target, MAX_CARD_BYTES, headers)
        except ssrf.FetchFailed as exc:
            raise _failed(str(exc)) from exc
    try:
        card = json.loads(body)
    except ValueError as exc:
        raise _failed("not JSON") from exc
    if not isinstance(card, dict):
        raise _failed("not a JSON object")
    return card
