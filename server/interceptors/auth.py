"""Resolves `authorization: Bearer …` to a principal for the rest of the call.

Anonymous calls pass through (public reads); a token that is present but
invalid fails the call at once, so a client never silently loses its identity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from server.auth import principal
from server.auth.metadata import bearer_token
from server.auth.service import AuthService
from server.interceptors.wrapping import AroundInterceptor, Context, StreamBehavior, UnaryBehavior


class AuthInterceptor(AroundInterceptor):
    def __init__(self, auth: AuthService) -> None:
        self._auth = auth

    async def _resolve(self, context: Context) -> principal.Principal | None:
        token = bearer_token(context.invocation_metadata())
        return await self._auth.authenticate(token) if token else None

    async def unary(
        self, method: str, behavior: UnaryBehavior, request: Any, context: Context
    ) -> Any:
        principal.set_current(await self._resolve(context))
        return await behavior(request, context)

    async def stream(
        self, method: str, behavior: StreamBehavior, request: Any, context: Context
    ) -> AsyncIterator[Any]:
        principal.set_current(await self._resolve(context))
        async for item in behavior(request, context):
            yield item
