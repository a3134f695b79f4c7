"""Resolves credentials to a principal for the rest of the call.

`authorization: Bearer <session token>` or an API key (`x-api-key: ak_…` or
`authorization: Bearer ak_…`). Anonymous calls pass through (public reads) and
cost nothing here; a credential that is present but invalid fails the call at
once, so a client never silently loses its identity (or its rate-limit tier).
With rate limits on, each such failure costs the caller's address
(server/ratelimit/auth_failures.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from server.auth import principal
from server.auth.api_keys import ApiKeyService, looks_like_key
from server.auth.metadata import bearer_token
from server.auth.service import AuthService
from server.domain.errors import Unauthenticated
from server.interceptors.rate_limit import caller_address
from server.ratelimit.auth_failures import AuthFailureGate
from server.ratelimit.client_ip import Network

if TYPE_CHECKING:
    from server.interceptors.call import CallHeaders


class Authenticator:
    def __init__(
        self,
        auth: AuthService,
        api_keys: ApiKeyService,
        failures: AuthFailureGate | None = None,
        trusted_hops: int = 0,
        trusted_proxies: Iterable[Network] = (),
    ) -> None:
        self._auth = auth
        self._api_keys = api_keys
        self._failures = failures
        self._trusted_hops = trusted_hops
        self._trusted_proxies = tuple(trusted_proxies)

    async def resolve(self, headers: CallHeaders, context: Any) -> principal.Principal | None:
        key = headers.api_key
        token = None
        if key is None and headers.authorization is not None:
            token = bearer_token((("authorization", headers.authorization),))
        if key is None and token is None:
            return None
        if self._failures is None:
            return await self._lookup(key, token)
        address = caller_address(context, headers, self._trusted_hops, self._trusted_proxies)
        self._failures.admit(address)
        try:
            return await self._lookup(key, token)
        except Unauthenticated:
            await self._failures.failed(address)
            raise

    async def _lookup(self, key: str | None, token: str | None) -> principal.Principal:
        if key is not None:
            return await self._api_keys.authenticate(key)
        assert token is not None
        if looks_like_key(token):
            return await self._api_keys.authenticate(token)
        return await self._auth.authenticate(token)
