"""AuthService over gRPC (sessions; API keys arrive with the rate-limit work)."""

from __future__ import annotations

import grpc
from agentregistry.v1 import auth_service_pb2 as pb
from agentregistry.v1 import auth_service_pb2_grpc
from google.protobuf import empty_pb2

from server.auth.metadata import bearer_token
from server.auth.service import AuthService
from server.domain.names import agent_name, parse_agent_name
from server.registry.convert import timestamp

Context = grpc.aio.ServicerContext[object, object]


class AuthServicer(auth_service_pb2_grpc.AuthServiceServicer):
    def __init__(self, service: AuthService) -> None:
        self._service = service

    async def CreateChallenge(
        self, request: pb.CreateChallengeRequest, context: Context
    ) -> pb.Challenge:
        issued = await self._service.create_challenge(parse_agent_name(request.agent, "agent"))
        return pb.Challenge(
            challenge_id=issued.challenge_id,
            nonce=issued.nonce,
            expire_time=timestamp(issued.expires_at),
        )

    async def CreateSession(self, request: pb.CreateSessionRequest, context: Context) -> pb.Session:
        issued = await self._service.create_session(request.challenge_id, request.signature)
        return pb.Session(
            token=issued.token,
            agent=agent_name(issued.agent_id),
            expire_time=timestamp(issued.expires_at),
        )

    async def DeleteSession(
        self, request: pb.DeleteSessionRequest, context: Context
    ) -> empty_pb2.Empty:
        await self._service.end_session(bearer_token(context.invocation_metadata()))
        return empty_pb2.Empty()
