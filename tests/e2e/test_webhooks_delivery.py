"""Webhooks end to end: a real server, real Postgres, the delivery job, a real HTTP receiver."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import standardwebhooks
from agentregistry.v1 import (
    auth_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    resources_pb2,
    webhook_service_pb2_grpc,
)
from agentregistry.v1 import webhook_service_pb2 as pb
from google.protobuf import field_mask_pb2
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import create_engine, session_factory
from db.uow import UnitOfWorkFactory
from scheduler.context import JobContext
from scheduler.jobs.webhook_delivery import webhook_delivery
from server.app import RegistryServer, build_server
from server.settings import Settings
from server.webhooks import signing
from tests.factories import AgentHandle, error_details, register
from tests.webhook_receiver import Receiver

DISABLE_AFTER = 3


@pytest.fixture(scope="module")
def hook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webhook_allow_loopback": True,
            "webhook_retry_base_s": 0.01,
            "webhook_retry_cap_s": 0.05,
            "webhook_disable_after_failures": DISABLE_AFTER,
            "webhook_timeout_s": 5.0,
        }
    )


@pytest.fixture(scope="module")
async def hook_server(hook_settings: Settings, backing: Any) -> AsyncIterator[RegistryServer]:
    app, _ = await build_server(hook_settings, backing)
    await app.start()
    yield app
    await app.stop(0)


@pytest.fixture(scope="module")
async def stubs(hook_server: RegistryServer) -> AsyncIterator[tuple[Any, Any, Any]]:
    """(registry, auth, webhooks) stubs on a server that allows loopback webhook URLs."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{hook_server.port}") as channel:
        yield (
            registry_service_pb2_grpc.RegistryServiceStub(channel),
            auth_service_pb2_grpc.AuthServiceStub(channel),
            webhook_service_pb2_grpc.WebhookServiceStub(channel),
        )


@pytest.fixture(scope="module")
async def job_context(hook_settings: Settings, backing: Any) -> AsyncIterator[JobContext]:
    engine: AsyncEngine = create_engine(backing.database_url, pool_size=4)
    redis = Redis.from_url(backing.redis_url)
    yield JobContext(hook_settings, engine, UnitOfWorkFactory(session_factory(engine)), redis)
    await redis.aclose()
    await engine.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The README's recipe: the Standard Webhooks library, not server code."""
    try:
        standardwebhooks.Webhook(secret).verify(body, headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


async def owner_with_hook(
    stubs: Any, url: str, types: list[int] | None = None
) -> tuple[AgentHandle, pb.Webhook]:
    registry, auth, webhooks = stubs
    agent = await register(registry, auth)
    hook = await webhooks.CreateWebhook(
        pb.CreateWebhookRequest(
            parent=agent.name, webhook=pb.Webhook(url=url, event_types=types or [])
        ),
        metadata=agent.metadata,
    )
    return agent, hook


async def touch(stubs: Any, agent: AgentHandle, description: str) -> None:
    registry = stubs[0]
    await registry.UpdateAgent(
        registry_service_pb2.UpdateAgentRequest(
            agent=resources_pb2.Agent(name=agent.name, description=description),
            update_mask=field_mask_pb2.FieldMask(paths=["description"]),
        ),
        metadata=agent.metadata,
    )


async def drain(context: JobContext, rounds: int = 20) -> None:
    """Run the job until it has nothing left to do (bounded)."""
    for _ in range(rounds):
        figures = await webhook_delivery(context)
        if figures["attempts"] == 0 and figures["fanned_out"] == 0:
            return


async def test_delivery_is_signed_as_documented(stubs, job_context, receiver) -> None:
    agent, hook = await owner_with_hook(stubs, receiver.url("/signed"))
    assert hook.secret.startswith("whsec_") and hook.state == pb.Webhook.STATE_ENABLED
    await touch(stubs, agent, "first")
    await drain(job_context)

    [request] = receiver.at("/signed")
    assert verify(hook.secret, request.headers, request.body)
    assert not verify(signing.new_secret(), request.headers, request.body)
    stale = {**request.headers, "webhook-timestamp": str(int(time.time()) - 3600)}
    assert not verify(hook.secret, stale, request.body)
    body = json.loads(request.body)
    assert body["type"] == "EVENT_TYPE_AGENT_UPDATED" and body["agent"] == agent.name
    assert request.headers["webhook-id"] == f"evt_{body['id']}"
    # The secret is shown once: reads never carry it.
    _, _, webhooks = stubs
    read = await webhooks.GetWebhook(pb.GetWebhookRequest(name=hook.name), metadata=agent.metadata)
    assert read.secret == ""


async def test_retry_then_success_after_two_500s(stubs, job_context, receiver) -> None:
    receiver.script("/flaky", 500, 500)
    agent, hook = await owner_with_hook(stubs, receiver.url("/flaky"))
    await touch(stubs, agent, "one")
    await touch(stubs, agent, "two")
    await drain(job_context)

    bodies = [json.loads(r.body) for r in receiver.at("/flaky")]
    ids = [int(b["id"]) for b in bodies]  # int64: a string in JSON
    # Ordered per webhook: the first event is retried until it succeeds, then the second.
    assert len(ids) == 4 and ids[0] == ids[1] == ids[2] < ids[3]
    _, _, webhooks = stubs
    listed = await webhooks.ListWebhookDeliveries(
        pb.ListWebhookDeliveriesRequest(parent=hook.name), metadata=agent.metadata
    )
    assert [(d.state, d.attempts) for d in listed.deliveries] == [
        (pb.WebhookDelivery.STATE_SUCCEEDED, 1),
        (pb.WebhookDelivery.STATE_SUCCEEDED, 3),
    ]


async def test_disabled_after_consecutive_failures_and_owner_notified(
    stubs, job_context, receiver
) -> None:
    receiver.script("/down", *[503] * 50)
    _, _, webhooks = stubs
    agent, hook = await owner_with_hook(stubs, receiver.url("/down"))
    # A second webhook of the same owner receives the WEBHOOK_DISABLED notice.
    notice = await webhooks.CreateWebhook(
        pb.CreateWebhookRequest(
            parent=agent.name,
            webhook=pb.Webhook(
                url=receiver.url("/notice"), event_types=[resources_pb2.EVENT_TYPE_WEBHOOK_DISABLED]
            ),
        ),
        metadata=agent.metadata,
    )
    await touch(stubs, agent, "x")
    await drain(job_context)

    assert len(receiver.at("/down")) == DISABLE_AFTER
    read = await webhooks.GetWebhook(pb.GetWebhookRequest(name=hook.name), metadata=agent.metadata)
    assert read.state == pb.Webhook.STATE_DISABLED and read.consecutive_failures == DISABLE_AFTER
    [notified] = receiver.at("/notice")
    notified_body = json.loads(notified.body)
    assert notified_body["type"] == "EVENT_TYPE_WEBHOOK_DISABLED"
    assert notified_body["webhookDisabled"] == {
        "webhook": hook.name,
        "failures": str(DISABLE_AFTER),
    }
    assert notice.state == pb.Webhook.STATE_ENABLED

    # Re-enabling resets the count and resumes the pending delivery.
    await webhooks.UpdateWebhook(
        pb.UpdateWebhookRequest(
            webhook=pb.Webhook(name=hook.name, state=pb.Webhook.STATE_ENABLED),
            update_mask=field_mask_pb2.FieldMask(paths=["state"]),
        ),
        metadata=agent.metadata,
    )
    receiver._scripts["/down"].clear()
    await drain(job_context)
    assert len(receiver.at("/down")) == DISABLE_AFTER + 1


async def test_webhooks_are_owner_only(stubs, receiver) -> None:
    registry, auth, webhooks = stubs
    owner, hook = await owner_with_hook(stubs, receiver.url("/mine"))
    stranger = await register(registry, auth)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await webhooks.GetWebhook(pb.GetWebhookRequest(name=hook.name), metadata=stranger.metadata)
    assert error_details(caught.value).reason == "NOT_OWNER"
    rotated = await webhooks.RotateWebhookSecret(
        pb.RotateWebhookSecretRequest(name=hook.name), metadata=owner.metadata
    )
    assert rotated.secret.startswith("whsec_") and rotated.secret != hook.secret
    await webhooks.DeleteWebhook(pb.DeleteWebhookRequest(name=hook.name), metadata=owner.metadata)
    listed = await webhooks.ListWebhooks(
        pb.ListWebhooksRequest(parent=owner.name), metadata=owner.metadata
    )
    assert list(listed.webhooks) == []


async def test_update_without_mask_changes_the_populated_fields(stubs, receiver) -> None:
    """AIP-134: no update_mask means every field set in the body, here url alone."""
    _, _, webhooks = stubs
    owner, hook = await owner_with_hook(
        stubs, receiver.url("/before"), [resources_pb2.EVENT_TYPE_AGENT_UPDATED]
    )
    updated = await webhooks.UpdateWebhook(
        pb.UpdateWebhookRequest(webhook=pb.Webhook(name=hook.name, url=receiver.url("/after"))),
        metadata=owner.metadata,
    )
    assert updated.url == receiver.url("/after")
    assert list(updated.event_types) == [resources_pb2.EVENT_TYPE_AGENT_UPDATED]
    assert updated.state == pb.Webhook.STATE_ENABLED
