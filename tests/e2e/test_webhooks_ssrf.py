"""No delivery to private addresses when loopback is not allowed: refused before any connection."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from agentregistry.v1 import webhook_service_pb2 as pb
from agentregistry.v1 import webhook_service_pb2_grpc
from sqlalchemy import text

from scheduler.context import JobContext
from scheduler.jobs.webhook_delivery import webhook_delivery
from tests.e2e.test_webhooks_delivery import (  # noqa: F401 - fixtures
    hook_server,
    hook_settings,
    job_context,
    owner_with_hook,
    receiver,
    stubs,
    touch,
)
from tests.factories import error_details, register
from tests.webhook_receiver import Receiver


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[fd00:ec2::254]/",
        "https://localhost/hook",  # a name that resolves to loopback
        "https://127.0.0.1/hook",
        "http://example.com/hook",
    ],
)
async def test_create_refuses_non_public_urls(registry, auth, channel, url: str) -> None:
    """The session server runs with the production default: loopback not allowed."""
    webhooks = webhook_service_pb2_grpc.WebhookServiceStub(channel)
    agent = await register(registry, auth)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await webhooks.CreateWebhook(
            pb.CreateWebhookRequest(parent=agent.name, webhook=pb.Webhook(url=url)),
            metadata=agent.metadata,
        )
    details = error_details(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.reason == "WEBHOOK_URL_REFUSED" and details.fields == ["webhook.url"]


async def test_delivery_time_check_refuses_without_connecting(
    stubs: Any,  # noqa: F811 - fixtures shared with test_webhooks_delivery
    job_context: JobContext,  # noqa: F811
    receiver: Receiver,  # noqa: F811
) -> None:
    """A URL accepted earlier (loopback allowed then) is re-checked before each attempt."""
    agent, hook = await owner_with_hook(stubs, receiver.url("/late", host="localhost"))
    await touch(stubs, agent, "late")
    strict = JobContext(
        job_context.settings.model_copy(update={"webhook_allow_loopback": False}),
        job_context.engine,
        job_context.uow,
        job_context.redis,
    )
    await webhook_delivery(strict)
    assert receiver.at("/late") == []
    async with job_context.engine.connect() as connection:
        error = (
            await connection.execute(
                text("SELECT last_error FROM webhook_deliveries WHERE webhook_id = :id"),
                {"id": hook.name.rsplit("/", 1)[1]},
            )
        ).scalar_one()
    assert error.startswith("refused:")
