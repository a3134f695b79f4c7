"""Fetching a card from its URL through the webhook SSRF guard (server.webhooks.ssrf).

The host must resolve to public addresses only (loopback when allowed, for local
runs and tests), and the request goes to the address that passed, so DNS rebinding
cannot turn it inward. No redirects, one deadline for the whole fetch, a cap on the
decoded size and the document limits of server.domain.documents: the registry fetches
on a client's behalf and must not be made to wait, read or parse without bound.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from server.cards.mapping import WELL_KNOWN_PATH
from server.domain import documents, failures, refusals
from server.domain.errors import FailedPrecondition
from server.webhooks import ssrf

USER_AGENT = "agentregistry-cards/1"


def card_url(uri: str) -> str:
    """The card's URL: as given, or the agent's base URL plus the well-known path."""
    parts = urlsplit(uri)
    if parts.path in ("", "/") and not parts.query:
        return parts._replace(path=WELL_KNOWN_PATH).geturl()
    return uri


def _failed(why: str) -> FailedPrecondition:
    return refusals.card_fetch_failed(why)


async def get_json(url: str, *, allow_loopback: bool, max_bytes: int) -> Any:
    """The JSON document at `url`, within the document limits; raises ssrf.RefusedUrl,
    ssrf.FetchFailed or documents.DocumentRefused."""
    headers = {"accept": "application/json", "user-agent": USER_AGENT}
    async with httpx.AsyncClient(
        timeout=documents.CARD_FETCH_DEADLINE_S, trust_env=False
    ) as client:
        body = await ssrf.fetch_checked(
            client,
            url,
            allow_loopback=allow_loopback,
            max_bytes=max_bytes,
            headers=headers,
            deadline_s=documents.CARD_FETCH_DEADLINE_S,
        )
    return documents.loads(body, max_bytes=max_bytes)


async def fetch_card(uri: str, *, allow_loopback: bool) -> dict[str, Any]:
    """The card at `uri`, parsed within the document limits (server.domain.documents)."""
    try:
        card = await get_json(
            card_url(uri), allow_loopback=allow_loopback, max_bytes=documents.CARD_MAX_BYTES
        )
    except ssrf.RefusedUrl as exc:
        raise failures.card_url_refused(str(exc)) from exc
    except ssrf.FetchFailed as exc:
        raise _failed(str(exc)) from exc
    except documents.DocumentRefused as exc:
        raise _failed(f"the body {exc}") from exc
    if not isinstance(card, dict):
        raise _failed("not a JSON object")
    return card
