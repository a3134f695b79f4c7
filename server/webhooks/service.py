"""Webhook use cases: owner-only CRUD, secret shown once, URLs checked against SSRF."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

from db.ports import UnitsOfWork
from server.domain import failures, refusals
from server.domain.agents import Page
from server.domain.errors import FieldViolation, InvalidArgument, NotFound
from server.domain.events import EventType
from server.domain.ids import new_id
from server.domain.masks import masked_fields
from server.domain.paging import decode_token, encode_token, page_limit
from server.domain.principal import Principal, require_agent
from server.domain.webhooks import (
    WEBHOOK_PREFIX,
    Webhook,
    WebhookDelivery,
    WebhookState,
)
from server.webhooks import signing, ssrf

UPDATABLE_FIELDS = frozenset({"url", "event_types", "state"})
# Event types an agent may subscribe to (resources.proto EventType names).
EVENT_TYPES = frozenset(
    {
        EventType.AGENT_REGISTERED,
        EventType.AGENT_UPDATED,
        EventType.AGENT_DELETED,
        EventType.AGENT_STATUS_CHANGED,
        EventType.ATTESTATION_RECEIVED,
        EventType.ATTESTATION_REVOKED,
        EventType.CAPABILITY_VERIFIED,
        EventType.WEBHOOK_DISABLED,
    }
)


def webhook_name(agent_id: str, webhook_id: str) -> str:
    return f"agents/{agent_id}/webhooks/{webhook_id}"


def _not_found(agent_id: str, webhook_id: str) -> NotFound:
    return failures.webhook_not_found(agent_id, webhook_id)


class WebhookService:
    def __init__(self, uow: UnitsOfWork, *, allow_loopback: bool, max_per_agent: int = 20) -> None:
        self._uow = uow
        self._allow_loopback = allow_loopback
        self._max_per_agent = max_per_agent

    async def _check_url(self, url: str, field: str) -> None:
        """Refused before anything is stored; checked again before every delivery."""
        try:
            await ssrf.resolve(url, self._allow_loopback)
        except ssrf.RefusedUrl as exc:
            raise failures.webhook_url_refused(field, str(exc)) from exc

    @staticmethod
    def _check_types(event_types: list[str], field: str) -> list[str]:
        unknown = [t for t in event_types if t not in EVENT_TYPES]
        if unknown:
            raise InvalidArgument.field(field, "must be event types other than UNSPECIFIED")
        return sorted(set(event_types))

    async def create(
        self,
        caller: Principal | None,
        agent_id: str,
        url: str,
        event_types: list[str],
        state: WebhookState | None,
    ) -> Webhook:
        require_agent(caller, agent_id)
        types = self._check_types(event_types, "webhook.event_types")
        if state == WebhookState.DISABLED:
            raise InvalidArgument.field("webhook.state", "must be ENABLED or PAUSED")
        await self._check_url(url, "webhook.url")
        secret = signing.new_secret()
        async with self._uow() as uow:
            webhooks = uow.webhooks
            if await uow.agents.lock(agent_id) is None:
                raise failures.agent_not_found(agent_id)
            if await webhooks.count(agent_id) >= self._max_per_agent:
                raise refusals.webhook_limit_reached(agent_id, self._max_per_agent)
            webhook = await webhooks.add(
                new_id(WEBHOOK_PREFIX),
                agent_id,
                url,
                types,
                (state or WebhookState.ENABLED).value,
                secret,
            )
            await uow.commit()
        return _with_secret(webhook, secret)

    async def get(self, caller: Principal | None, agent_id: str, webhook_id: str) -> Webhook:
        require_agent(caller, agent_id)
        async with self._uow() as uow:
            webhook = await uow.webhooks.get(agent_id, webhook_id)
        if webhook is None:
            raise _not_found(agent_id, webhook_id)
        return webhook

    async def list_webhooks(
        self, caller: Principal | None, agent_id: str, page_size: int, page_token: str
    ) -> tuple[list[Webhook], str]:
        require_agent(caller, agent_id)
        scope = f"webhooks:{agent_id}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)
        async with self._uow() as uow:
            page: Page[Webhook] = await uow.webhooks.list_page(agent_id, limit, cursor)
        return page.items, encode_token(page.next_cursor, scope)

    async def update(
        self,
        caller: Principal | None,
        agent_id: str,
        webhook_id: str,
        changes: dict[str, Any],
        paths: list[str],
        populated: Collection[str] = (),
    ) -> Webhook:
        """`changes` maps proto field names to values; the mask (else `populated`) picks
        among them."""
        require_agent(caller, agent_id)
        fields = masked_fields(paths, UPDATABLE_FIELDS, populated)
        values: dict[str, Any] = {}
        problems: list[FieldViolation] = []
        if "state" in fields:
            state = changes["state"]
            if state not in (WebhookState.ENABLED, WebhookState.PAUSED):
                problems.append(FieldViolation("webhook.state", "must be ENABLED or PAUSED"))
            else:
                values["state"] = state.value
                if state == WebhookState.ENABLED:
                    values["consecutive_failures"] = 0  # re-enabling starts afresh
        if "event_types" in fields:
            values["event_types"] = self._check_types(changes["event_types"], "webhook.event_types")
        if problems:
            raise InvalidArgument(problems)
        if "url" in fields:
            await self._check_url(changes["url"], "webhook.url")
            values["url"] = changes["url"]
        async with self._uow() as uow:
            webhooks = uow.webhooks
            if await webhooks.get(agent_id, webhook_id, lock=True) is None:
                raise _not_found(agent_id, webhook_id)
            webhook = await webhooks.update(webhook_id, values)
            await uow.commit()
        return webhook

    async def delete(self, caller: Principal | None, agent_id: str, webhook_id: str) -> None:
        require_agent(caller, agent_id)
        async with self._uow() as uow:
            if not await uow.webhooks.delete(agent_id, webhook_id):
                raise _not_found(agent_id, webhook_id)
            await uow.commit()

    async def rotate_secret(
        self, caller: Principal | None, agent_id: str, webhook_id: str
    ) -> Webhook:
        """The old secret stops signing at once; the response carries the new one, once."""
        require_agent(caller, agent_id)
        secret = signing.new_secret()
        async with self._uow() as uow:
            webhooks = uow.webhooks
            if await webhooks.get(agent_id, webhook_id, lock=True) is None:
                raise _not_found(agent_id, webhook_id)
            webhook = await webhooks.update(webhook_id, {"secret": secret})
            await uow.commit()
        return _with_secret(webhook, secret)

    async def list_deliveries(
        self,
        caller: Principal | None,
        agent_id: str,
        webhook_id: str,
        page_size: int,
        page_token: str,
    ) -> tuple[list[WebhookDelivery], str]:
        require_agent(caller, agent_id)
        scope = f"deliveries:{webhook_id}"
        limit = page_limit(page_size)
        cursor = decode_token(page_token, scope)
        async with self._uow() as uow:
            webhooks = uow.webhooks
            if await webhooks.get(agent_id, webhook_id) is None:
                raise _not_found(agent_id, webhook_id)
            page = await webhooks.list_deliveries_page(webhook_id, limit, cursor)
        return page.items, encode_token(page.next_cursor, scope)


def _with_secret(webhook: Webhook, secret: str) -> Webhook:
    return dataclasses.replace(webhook, secret=secret)
