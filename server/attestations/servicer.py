"""AttestationService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, resources_pb2

from server.attestations import convert
from server.attestations.service import AttestationService
from server.domain.names import parse_agent_name

Context = grpc.aio.ServicerContext[object, object]


def _now() -> datetime:
    return datetime.now(UTC)


class AttestationServicer(attestation_service_pb2_grpc.AttestationServiceServicer):
    def __init__(self, service: AttestationService) -> None:
        self._service = service

    async def CreateAttestation(
        self, request: pb.CreateAttestationRequest, context: Context
    ) -> resources_pb2.Attestation:
        attestation = await self._service.create(convert.draft_from_proto(request.attestation))
        return convert.attestation_to_proto(attestation, _now())

    async def GetAttestation(
        self, request: pb.GetAttestationRequest, context: Context
    ) -> resources_pb2.Attestation:
        attestation = await self._service.get(convert.parse_attestation_name(request.name, "name"))
        return convert.attestation_to_proto(attestation, _now())

    async def ListAttestations(
        self, request: pb.ListAttestationsRequest, context: Context
    ) -> pb.ListAttestationsResponse:
        attestations, token = await self._service.list(
            parse_agent_name(request.subject, "subject") if request.subject else None,
            parse_agent_name(request.attester, "attester") if request.attester else None,
            request.include_inactive,
            request.page_size,
            request.page_token,
        )
        return convert.list_response(attestations, token, _now())

    async def RevokeAttestation(
        self, request: pb.RevokeAttestationRequest, context: Context
    ) -> resources_pb2.Attestation:
        attestation = await self._service.revoke(
            convert.parse_attestation_name(request.name, "name")
        )
        return convert.attestation_to_proto(attestation, _now())
