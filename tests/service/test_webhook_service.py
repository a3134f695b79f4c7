"""Webhook CRUD: owner-only, a per-agent limit, the secret shown once, checked updates."""

from __future__ import annotations

import pytest

from server.domain.errors import (
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from server.domain.webhooks import WebhookState
from tests.service.conftest import World, caller

URL = "http://127.0.0.1:9/hook"


async def test_create_shows_the_secret_once(world: World) -> None:
    agent, _ = await world.register()
    owner = caller(agent.agent_id)
    created = await world.webhooks.create(
        owner, agent.agent_id, URL, ["AGENT_UPDATED", "AGENT_UPDATED"], None
    )
    fetched = await world.webhooks.get(owner, agent.agent_id, created.webhook_id)
    rotated = await world.webhooks.rotate_secret(owner, agent.agent_id, created.webhook_id)
    assert created.secret and fetched.secret == ""
    assert rotated.secret and rotated.secret != created.secret
    assert created.event_types == ("AGENT_UPDATED",) and created.state is WebhookState.ENABLED


async def test_bad_input_and_the_limit_are_refused(world: World) -> None:
    agent, _ = await world.register()
    owner = caller(agent.agent_id)
    with pytest.raises(InvalidArgument):
        await world.webhooks.create(owner, agent.agent_id, URL, ["NOT_A_TYPE"], None)
    with pytest.raises(InvalidArgument):
        await world.webhooks.create(owner, agent.agent_id, URL, [], WebhookState.DISABLED)
    with pytest.raises(InvalidArgument):
        await world.webhooks.create(owner, agent.agent_id, "ftp://example.com/x", [], None)
    for _ in range(3):
        await world.webhooks.create(owner, agent.agent_id, URL, [], None)
    with pytest.raises(FailedPrecondition):
        await world.webhooks.create(owner, agent.agent_id, URL, [], None)
    assert len(world.db.tables.webhooks) == 3


async def test_only_the_owner_sees_and_changes_its_webhooks(world: World) -> None:
    agent, _ = await world.register()
    other, _ = await world.register()
    created = await world.webhooks.create(caller(agent.agent_id), agent.agent_id, URL, [], None)
    intruder = caller(other.agent_id)
    with pytest.raises(PermissionDenied):
        await world.webhooks.get(intruder, agent.agent_id, created.webhook_id)
    with pytest.raises(NotFound):
        await world.webhooks.get(intruder, other.agent_id, created.webhook_id)


async def test_update_follows_the_mask_and_re_enabling_starts_afresh(world: World) -> None:
    agent, _ = await world.register()
    owner = caller(agent.agent_id)
    created = await world.webhooks.create(owner, agent.agent_id, URL, [], WebhookState.PAUSED)
    with pytest.raises(InvalidArgument):
        await world.webhooks.update(
            owner,
            agent.agent_id,
            created.webhook_id,
            {"state": WebhookState.DISABLED},
            ["state"],
        )
    updated = await world.webhooks.update(
        owner,
        agent.agent_id,
        created.webhook_id,
        {"state": WebhookState.ENABLED, "url": "ignored"},
        ["state"],
    )
    await world.webhooks.delete(owner, agent.agent_id, created.webhook_id)
    with pytest.raises(NotFound):
        await world.webhooks.delete(owner, agent.agent_id, created.webhook_id)
    assert updated.state is WebhookState.ENABLED and updated.url == URL
    assert updated.consecutive_failures == 0


async def test_webhooks_page_newest_first(world: World) -> None:
    agent, _ = await world.register()
    made = []
    owner = caller(agent.agent_id)
    for _ in range(3):
        created = await world.webhooks.create(owner, agent.agent_id, URL, [], None)
        made.append(created.webhook_id)
        world.clock.advance(1)
    first, token = await world.webhooks.list_webhooks(owner, agent.agent_id, 2, "")
    second, last = await world.webhooks.list_webhooks(owner, agent.agent_id, 2, token)
    assert [w.webhook_id for w in first + second] == made[::-1] and last == ""
