"""RegistryClient: one channel, the agent's credentials, and every call an agent makes.

Calls return the API's protos (`agentregistry_client.pb` re-exports their modules) and
raise `RegistryError` with the decoded reason. Calls that need the agent log in with its
key on first use and renew the session before it expires.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from types import TracebackType
from typing import TypeVar

import grpc
from google.protobuf import field_mask_pb2

from agentregistry_client import convert
from agentregistry_client._proto import (
    attestation_service_pb2_grpc,
    auth_service_pb2_grpc,
    presence_service_pb2,
    presence_service_pb2_grpc,
    registry_service_pb2,
    registry_service_pb2_grpc,
    resources_pb2,
    search_service_pb2,
    search_service_pb2_grpc,
)
from agentregistry_client.admin import ApiKeys, Webhooks
from agentregistry_client.client_profile import ProfileCalls
from agentregistry_client.client_trust import TrustCalls
from agentregistry_client.errors import NotRegistered, RegistryError
from agentregistry_client.keys import AgentKey
from agentregistry_client.operator import Operator
from agentregistry_client.presence import Presence
from agentregistry_client.session import Credentials, Metadata, Session
from agentregistry_client.signing import register_message
from agentregistry_client.watch import watch_events

TARGET_ENV = "AGENTREGISTRY_TARGET"
DEFAULT_TARGET = "127.0.0.1:50051"
T = TypeVar("T")


class RegistryClient(TrustCalls, ProfileCalls):
    """`async with RegistryClient(key=AgentKey.load_or_create("agent.key")) as client: …`

    `target` defaults to AGENTREGISTRY_TARGET, else 127.0.0.1:50051. Give `key` to act as
    an agent (sessions are logged in and renewed with it), or `api_key` / `token` with
    `agent` for an integration; none of them for public reads.
    """

    def __init__(
        self,
        target: str | None = None,
        *,
        key: AgentKey | None = None,
        agent: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        tls: grpc.ChannelCredentials | None = None,
        channel: grpc.aio.Channel | None = None,
    ) -> None:
        self.target = target or os.environ.get(TARGET_ENV) or DEFAULT_TARGET
        # The agent the calls act for: the key's, or given (with an API key or a token).
        self._agent = convert.agent_name(agent) if agent else None
        if key is not None and key.agent is None and self._agent is not None:
            key.agent = self._agent
        if channel is None:
            if tls is None:
                channel = grpc.aio.insecure_channel(self.target)
            else:
                channel = grpc.aio.secure_channel(self.target, tls)
            self._owns_channel = True
        else:
            self._owns_channel = False
        self.channel = channel
        self.registry = registry_service_pb2_grpc.RegistryServiceStub(channel)
        self.auth = auth_service_pb2_grpc.AuthServiceStub(channel)
        self.presence_stub = presence_service_pb2_grpc.PresenceServiceStub(channel)
        self.search_stub = search_service_pb2_grpc.SearchServiceStub(channel)
        self.attestations = attestation_service_pb2_grpc.AttestationServiceStub(channel)
        self.reputations = attestation_service_pb2_grpc.ReputationServiceStub(channel)
        self.credentials = Credentials(self.auth, key, api_key, token)
        self.api_keys = ApiKeys(self)
        self.webhooks = Webhooks(self)
        self.operator = Operator(self)

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_channel:
            await self.channel.close()

    @property
    def key(self) -> AgentKey | None:
        return self.credentials.key

    @property
    def agent(self) -> str:
        """The key's agent name (`agents/…`); NotRegistered before registration."""
        if self.key is not None and self.key.agent is not None:
            return self.key.agent
        if self._agent is None:
            raise NotRegistered()
        return self._agent

    async def call(self, rpc: Callable[[Metadata], Awaitable[T]], authenticated: bool = False) -> T:
        """Run one RPC with credentials; a refused session is renewed and the call retried once."""
        for attempt in (1, 2):
            metadata = await self.credentials.metadata(required=authenticated)
            try:
                return await rpc(metadata)
            except grpc.aio.AioRpcError as error:
                renewable = self.credentials.can_login and self.credentials.api_key is None
                if error.code() == grpc.StatusCode.UNAUTHENTICATED and renewable and attempt == 1:
                    self.credentials.forget()
                    continue
                raise RegistryError.from_rpc(error) from None
        raise AssertionError("unreachable")

    # Identity and sessions

    async def register(
        self,
        display_name: str,
        type: convert.AgentTypeLike = "service",
        *,
        capabilities: Iterable[str] = (),
        **profile: object,
    ) -> resources_pb2.Agent:
        """CreateAgent with the key's proof of possession; the key remembers the name."""
        if self.key is None:
            raise NotRegistered()
        agent, _ = convert.agent_profile(display_name, type, **profile)  # type: ignore[arg-type]
        request = registry_service_pb2.CreateAgentRequest(
            agent=agent,
            public_key=self.key.public_key,
            signature=self.key.sign(register_message(self.key.public_key)),
            capabilities=[convert.capability_name(c) for c in capabilities],
        )
        registered: resources_pb2.Agent = await self.call(
            lambda md: self.registry.CreateAgent(request, metadata=md)
        )
        self.key.remember(registered.name)
        return registered

    async def ensure_registered(
        self, display_name: str, type: convert.AgentTypeLike = "service", **profile: object
    ) -> resources_pb2.Agent:
        """The key's agent if it exists, else a new registration: safe to call on every start."""
        if self.key is not None and self.key.agent is not None:
            try:
                return await self.get_agent(self.key.agent)
            except RegistryError as error:
                if error.code != grpc.StatusCode.NOT_FOUND:
                    raise
        return await self.register(display_name, type, **profile)  # type: ignore[arg-type]

    async def login(self) -> Session:
        """A new session now (calls log in on their own when they need one)."""
        return await self.credentials.login()

    async def logout(self) -> None:
        await self.credentials.logout()

    # Agents

    async def get_agent(self, name: str | None = None) -> resources_pb2.Agent:
        request = registry_service_pb2.GetAgentRequest(name=convert.agent_name(name or self.agent))
        return await self.call(lambda md: self.registry.GetAgent(request, metadata=md))

    async def list_agents(
        self, type: convert.AgentTypeLike | None = None, page_size: int = 0, page_token: str = ""
    ) -> registry_service_pb2.ListAgentsResponse:
        request = registry_service_pb2.ListAgentsRequest(
            page_size=page_size,
            page_token=page_token,
            type=convert.agent_type(type) if type is not None else 0,  # type: ignore[arg-type]
        )
        return await self.call(lambda md: self.registry.ListAgents(request, metadata=md))

    async def update_agent(self, **fields: object) -> resources_pb2.Agent:
        """Change the given profile fields only (display_name, description, tags, …)."""
        agent, paths = convert.agent_profile(**fields)  # type: ignore[arg-type]
        agent.name = self.agent
        request = registry_service_pb2.UpdateAgentRequest(
            agent=agent, update_mask=field_mask_pb2.FieldMask(paths=paths)
        )
        return await self.call(lambda md: self.registry.UpdateAgent(request, metadata=md), True)

    async def delete_agent(self) -> None:
        request = registry_service_pb2.DeleteAgentRequest(name=self.agent)
        await self.call(lambda md: self.registry.DeleteAgent(request, metadata=md), True)

    async def add_capability(self, capability: str) -> resources_pb2.Agent:
        request = registry_service_pb2.AddAgentCapabilityRequest(
            agent=self.agent, capability=convert.capability_name(capability)
        )
        return await self.call(
            lambda md: self.registry.AddAgentCapability(request, metadata=md), True
        )

    async def list_capabilities(
        self, page_size: int = 0, page_token: str = ""
    ) -> registry_service_pb2.ListCapabilitiesResponse:
        request = registry_service_pb2.ListCapabilitiesRequest(
            page_size=page_size, page_token=page_token
        )
        return await self.call(lambda md: self.registry.ListCapabilities(request, metadata=md))

    def watch(
        self,
        after_event_id: int = 0,
        types: Sequence[int | str] = (),
        agent: str | None = None,
        *,
        from_oldest: bool = False,
    ) -> AsyncIterator[resources_pb2.Event]:
        """The change feed, resumed after the last event seen when the connection drops;
        `from_oldest` replays every retained event first (else: after `after_event_id`,
        0 meaning from now on)."""
        event_types = [convert.event_type(t) for t in types]
        return watch_events(self, after_event_id, event_types, agent, from_oldest=from_oldest)

    # Presence

    def presence(self, **options: object) -> Presence:
        """A heartbeat stream held in the background: `async with client.presence() as p:`."""
        return Presence(self, **options)  # type: ignore[arg-type]

    async def get_presence(self, name: str | None = None) -> presence_service_pb2.Presence:
        request = presence_service_pb2.GetPresenceRequest(
            name=convert.agent_name(name or self.agent) + "/presence"
        )
        return await self.call(lambda md: self.presence_stub.GetPresence(request, metadata=md))

    async def send_heartbeat(
        self, status: convert.StatusLike | None = None, load: float = 0.0, sequence: int = 0
    ) -> presence_service_pb2.HeartbeatAck:
        """One beat without a stream (for cron-like agents); keep it within the TTL."""
        request = presence_service_pb2.SendHeartbeatRequest(
            name=self.agent,
            status=convert.agent_status(status) if status is not None else 0,  # type: ignore[arg-type]
            load=load,
            sequence=sequence,
        )
        return await self.call(
            lambda md: self.presence_stub.SendHeartbeat(request, metadata=md), True
        )

    async def set_status(self, status: convert.StatusLike) -> presence_service_pb2.Presence:
        request = presence_service_pb2.SetStatusRequest(
            name=self.agent,
            status=convert.agent_status(status),  # type: ignore[arg-type]
        )
        return await self.call(lambda md: self.presence_stub.SetStatus(request, metadata=md), True)

    # Search and discovery

    async def search(
        self,
        query: str = "",
        page_size: int = 0,
        page_token: str = "",
        filter: search_service_pb2.AgentFilter | None = None,
        **filters: object,
    ) -> search_service_pb2.SearchAgentsResponse:
        """SearchAgents; `filter`, or keyword filters as in `agent_filter` (tags=…, types=…)."""
        request = search_service_pb2.SearchAgentsRequest(
            query=query,
            filter=filter or convert.agent_filter(**filters),  # type: ignore[arg-type]
            page_size=page_size,
            page_token=page_token,
        )
        return await self.call(lambda md: self.search_stub.SearchAgents(request, metadata=md))

    async def find(
        self,
        query: str,
        page_size: int = 0,
        page_token: str = "",
        filter: search_service_pb2.AgentFilter | None = None,
        **filters: object,
    ) -> search_service_pb2.FindAgentsResponse:
        """FindAgents: a plain-language request matched to capabilities (filters as search)."""
        request = search_service_pb2.FindAgentsRequest(
            query=query,
            filter=filter or convert.agent_filter(**filters),  # type: ignore[arg-type]
            page_size=page_size,
            page_token=page_token,
        )
        return await self.call(lambda md: self.search_stub.FindAgents(request, metadata=md))

    async def suggest(
        self, prefix: str, limit: int = 0
    ) -> search_service_pb2.SuggestAgentsResponse:
        request = search_service_pb2.SuggestAgentsRequest(prefix=prefix, limit=limit)
        return await self.call(lambda md: self.search_stub.SuggestAgents(request, metadata=md))


__all__ = ["DEFAULT_TARGET", "RegistryClient"]
