"""API keys: created by their agent, shown once, stored hashed, revocable at once.

Lookups are cached in Redis for a minute keyed by the secret's hash, and read
together with the owning agent's session epoch (server/auth/store.py), so a
deleted agent's keys stop working at once on every instance. Revoking replaces
the entry with a tombstone, and a lookup fills the cache only where no entry is
(SET NX), so a fill racing a revoke cannot bring the key back. Unknown secrets
are cached as tombstones too, briefly: a flood of made-up keys reaches Postgres
once per key, and a new key has a new hash, so it works at once. Last use is
recorded at most once a minute per key (a Redis gate), never as a write per request.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from db.ports import UnitsOfWork
from server.auth.store import DELETED_EPOCH, EPOCH_KEY, StreamRevoker, api_key_credential
from server.domain import failures, refusals
from server.domain.agents import AgentState, Page
from server.domain.api_keys import DEFAULT_SCOPES, ApiKey, Plan, Scope
from server.domain.errors import (
    FieldViolation,
    InvalidArgument,
    Unauthenticated,
)
from server.domain.ids import new_id
from server.domain.paging import decode_token, encode_token, page_limit
from server.domain.principal import Principal, require_session
from server.domain.validation import display_name_violations
from server.hot import scripts

KEY_PREFIX = "ak_"
_CACHE = "auth:apikey:{}"
_TOUCH = "auth:apikey:touched:{}"
_CACHE_TTL_S = 60
_UNKNOWN_TTL_S = 30
_TOUCH_EVERY_S = 60
_TOMBSTONE = "-"


def _invalid() -> Unauthenticated:
    return refusals.api_key_invalid()


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def looks_like_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


class ApiKeyService:
    def __init__(
        self, uow: UnitsOfWork, redis: Redis, streams: StreamRevoker | None = None
    ) -> None:
        self._uow = uow
        self._redis = redis
        self._streams = streams
        # The cached key and its agent's session epoch in one round trip; a tombstone alone.
        self._read_key = redis.register_script(scripts.text("read_api_key"))

    async def create(
        self,
        caller: Principal | None,
        agent_id: str,
        display_name: str,
        scopes: tuple[Scope, ...],
        plan: Plan,
        expires_at: datetime | None,
    ) -> tuple[ApiKey, str]:
        require_session(caller, agent_id)
        if plan is not Plan.FREE:
            raise refusals.plan_operator_only()
        if Scope.OPERATOR in scopes:
            raise refusals.scope_operator_only()
        problems = display_name_violations("api_key.display_name", display_name)
        if expires_at is not None and expires_at <= datetime.now(UTC):
            problems.append(FieldViolation("api_key.expire_time", "must be in the future"))
        if problems:
            raise InvalidArgument(problems)
        return await self._mint(
            agent_id,
            display_name.strip(),
            tuple(dict.fromkeys(scopes or DEFAULT_SCOPES)),
            Plan.FREE,
            expires_at,
        )

    async def create_operator_key(self, display_name: str) -> tuple[ApiKey, str]:
        """Bootstrap and rotation of operator credentials (the `server.admin` command)."""
        return await self._mint(None, display_name, (Scope.OPERATOR,), Plan.ENTERPRISE, None)

    async def revoke_operator_key(self, key_id: str) -> bool:
        async with self._uow() as uow:
            key = await uow.api_keys.get(key_id)
            if key is None or key.agent_id is not None:
                return False
            key_hash = await uow.api_keys.delete(key_id)
            await uow.commit()
        await self.forget_cached([key_hash] if key_hash is not None else [])
        return True

    async def _mint(
        self,
        agent_id: str | None,
        display_name: str,
        scopes: tuple[Scope, ...],
        plan: Plan,
        expires_at: datetime | None,
    ) -> tuple[ApiKey, str]:
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        async with self._uow() as uow:
            key = await uow.api_keys.add(
                new_id(KEY_PREFIX),
                agent_id,
                display_name,
                hash_secret(secret),
                secret[:10],
                scopes,
                plan,
                expires_at,
            )
            await uow.commit()
        return key, secret

    async def forget_cached(self, key_hashes: list[bytes]) -> None:
        """After a plan or agent-state change: the next request reads the key afresh."""
        if key_hashes:
            await self._redis.delete(*(_CACHE.format(h.hex()) for h in key_hashes))

    async def list_keys(
        self, caller: Principal | None, agent_id: str, page_size: int, page_token: str
    ) -> tuple[list[ApiKey], str]:
        require_session(caller, agent_id)
        scope = f"api_keys:{agent_id}"
        cursor = decode_token(page_token, scope)
        async with self._uow() as uow:
            page: Page[ApiKey] = await uow.api_keys.list_page(
                agent_id, page_limit(page_size), cursor
            )
        return page.items, encode_token(page.next_cursor, scope)

    async def revoke(self, caller: Principal | None, agent_id: str, key_id: str) -> None:
        require_session(caller, agent_id)
        async with self._uow() as uow:
            key = await uow.api_keys.get(key_id)
            if key is None or key.agent_id != agent_id:
                raise failures.api_key_not_found(agent_id, key_id)
            key_hash = await uow.api_keys.delete(key_id)
            await uow.commit()
        if key_hash is not None:
            await self._redis.set(_CACHE.format(key_hash.hex()), _TOMBSTONE, ex=_CACHE_TTL_S)
        if self._streams is not None:  # and a stream it opened ends now
            await self._streams.revoke(agent_id, api_key_credential(key_id))

    async def _cached(self, cache_key: str) -> dict[str, Any] | None:
        """The cached entry; raises for a tombstone or a deleted agent's key."""
        found = await self._read_key(keys=[cache_key], args=[EPOCH_KEY.format(""), _TOMBSTONE])
        if not found:
            return None
        if found[0] in (_TOMBSTONE, _TOMBSTONE.encode()):
            raise _invalid()
        epoch = found[1] if len(found) > 1 else None  # a nil epoch truncates the Lua table
        if epoch is not None and epoch in (str(DELETED_EPOCH), str(DELETED_EPOCH).encode()):
            raise _invalid()
        data: dict[str, Any] = json.loads(found[0])
        return data

    async def authenticate(self, secret: str) -> Principal:
        key_hash = hash_secret(secret)
        cache_key = _CACHE.format(key_hash.hex())
        data = await self._cached(cache_key)
        if data is None:
            async with self._uow() as uow:
                key = await uow.api_keys.by_hash(key_hash)
                agent = (
                    await uow.agents.get(key.agent_id)
                    if key is not None and key.agent_id is not None
                    else None
                )
            if key is None or (key.agent_id is not None and agent is None):
                await self._redis.set(cache_key, _TOMBSTONE, ex=_UNKNOWN_TTL_S, nx=True)
                raise _invalid()
            data = {
                "key_id": key.key_id,
                "agent_id": key.agent_id,
                "scopes": [str(s) for s in key.scopes],
                "plan": str(key.plan),
                "expires_at": key.expires_at.isoformat() if key.expires_at else None,
                "verified": bool(agent and agent.verified),
                "active": key.agent_id is None
                or (agent is not None and agent.state is AgentState.ACTIVE),
            }
            await self._redis.set(cache_key, json.dumps(data), ex=_CACHE_TTL_S, nx=True)
        expires_at = datetime.fromisoformat(data["expires_at"]) if data["expires_at"] else None
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise refusals.api_key_expired()
        if not data.get("active", True):
            raise refusals.suspended_agents_key(data["agent_id"])
        await self._touch(data["key_id"])
        return Principal(
            agent_id=data["agent_id"] or "",
            verified=data["verified"],
            api_key_id=data["key_id"],
            scopes=tuple(Scope(s) for s in data["scopes"]),
            plan=Plan(data["plan"]),
            expires_at=expires_at.timestamp() if expires_at is not None else None,
        )

    async def _touch(self, key_id: str) -> None:
        if await self._redis.set(_TOUCH.format(key_id), 1, nx=True, ex=_TOUCH_EVERY_S):
            async with self._uow() as uow:
                await uow.api_keys.touch(key_id, datetime.now(UTC))
                await uow.commit()
