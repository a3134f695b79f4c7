"""What a registry operator does (`client.operator`): AdminService with an operator key.

Every call needs the client built with `api_key=` an operator key (`python -m
server.admin create-operator-key`) and a `reason`, which the registry writes to the
change feed with the key's id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentregistry_client import convert
from agentregistry_client._proto import (
    admin_service_pb2,
    admin_service_pb2_grpc,
    auth_service_pb2,
    resources_pb2,
)

if TYPE_CHECKING:
    from agentregistry_client.client import RegistryClient

# The agent-moderation calls by the word the CLI uses for them.
ACTIONS = ("verify", "unverify", "suspend", "take-down", "reinstate")


class Operator:
    def __init__(self, client: RegistryClient) -> None:
        self._client = client
        self._stub = admin_service_pb2_grpc.AdminServiceStub(client.channel)

    async def moderate(self, action: str, agent: str, reason: str) -> resources_pb2.Agent:
        """One of ACTIONS on `agent`: a trust seed or not, suspended, taken down, reinstated."""
        name = convert.agent_name(agent)
        stub = self._stub
        calls = {
            "verify": (stub.VerifyAgent, admin_service_pb2.VerifyAgentRequest),
            "unverify": (stub.UnverifyAgent, admin_service_pb2.UnverifyAgentRequest),
            "suspend": (stub.SuspendAgent, admin_service_pb2.SuspendAgentRequest),
            "take-down": (stub.TakeDownAgent, admin_service_pb2.TakeDownAgentRequest),
            "reinstate": (stub.ReinstateAgent, admin_service_pb2.ReinstateAgentRequest),
        }
        if action not in calls:
            raise ValueError(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
        rpc, request_type = calls[action]
        request = request_type(name=name, reason=reason)
        return await self._client.call(lambda md: rpc(request, metadata=md), True)

    async def set_plan(self, api_key: str, plan: str | int, reason: str) -> auth_service_pb2.ApiKey:
        """An API key's plan (`free`, `pro`, `enterprise`): its rate-limit tier."""
        request = admin_service_pb2.UpdateApiKeyPlanRequest(
            name=api_key,
            plan=convert._enum(auth_service_pb2.ApiKeyPlan, "API_KEY_PLAN_", plan),  # type: ignore[arg-type]
            reason=reason,
        )
        stub = self._stub
        return await self._client.call(lambda md: stub.UpdateApiKeyPlan(request, metadata=md), True)
