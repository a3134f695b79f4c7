"""AuthService over gRPC: sessions and API keys."""

from __future__ import annotations

from agentregistry.v1 import auth_service_pb2 as pb
from agentregistry.v1 import auth_service_pb2_grpc
from google.protobuf import empty_pb2

from server.auth import convert
from server.auth.api_keys import ApiKeyService
from server.auth.metadata import bearer_token
from server.auth.service import AuthService
from server.call import Call
from server.domain.names import agent_name, parse_agent_name, parse_api_key_name
from server.domain.wire import timestamp


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(self, service: AuthService, api_keys: ApiKeyService) -> None:
        self._service = service
        self._api_keys = api_keys

    async def CreateChallenge(self, request: pb.CreateChallengeRequest, call: Call) -> pb.Challenge:
        issued = await self._service.create_challenge(parse_agent_name(request.agent, "agent"))
        return pb.Challenge(
            challenge_id=issued.challenge_id,
            nonce=issued.nonce,
            expire_time=timestamp(issued.expires_at),
        )

    async def CreateSession(self, request: pb.CreateSessionRequest, call: Call) -> pb.Session:
        issued = await self._service.create_session(request.challenge_id, request.signature)
        return pb.Session(
            token=issued.token,
            agent=agent_name(issued.agent_id),
            expire_time=timestamp(issued.expires_at),
        )

    async def DeleteSession(self, request: pb.DeleteSessionRequest, call: Call) -> empty_pb2.Empty:
        await self._service.end_session(bearer_token(call.invocation_metadata()))
        return empty_pb2.Empty()

    async def CreateApiKey(self, request: pb.CreateApiKeyRequest, call: Call) -> pb.ApiKey:
        key, secret = await self._api_keys.create(
            call.caller,
            parse_agent_name(request.parent, "parent"),
            request.api_key.display_name,
            convert.scopes_from_proto(request.api_key.scopes),
            convert.plan_from_proto(request.api_key.plan),
            convert.optional_time(request.api_key, "expire_time"),
        )
        return convert.api_key_to_proto(key, secret)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, call: Call
    ) -> pb.ListApiKeysResponse:
        keys, token = await self._api_keys.list_keys(
            call.caller,
            parse_agent_name(request.parent, "parent"),
            request.page_size,
            request.page_token,
        )
        return pb.ListApiKeysResponse(
            api_keys=[convert.api_key_to_proto(k) for k in keys], next_page_token=token
        )

    async def DeleteApiKey(self, request: pb.DeleteApiKeyRequest, call: Call) -> empty_pb2.Empty:
        agent_id, key_id = parse_api_key_name(request.name, "name")
        await self._api_keys.revoke(call.caller, agent_id, key_id)
        return empty_pb2.Empty()
