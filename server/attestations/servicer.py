"""AttestationService over gRPC: convert, call the service, convert back."""

from __future__ import annotations

from datetime import UTC, datetime

from agentregistry.v1 import attestation_service_pb2 as pb
from agentregistry.v1 import attestation_service_pb2_grpc, resources_pb2

from server.attestations import convert
from server.attestations.service import AttestationService
from server.call import Call
from server.domain.names import parse_agent_name


def _now() -> datetime:
    return datetime.now(UTC)


class AttestationServicer(attestation_service_pb2_grpc.AttestationServiceServicer):
    def __init__(self, service: AttestationService) -> None:
        self._service = service

    async def CreateAttestation(
        self, request: pb.CreateAttestationRequest, call: Call
    ) -> resources_pb2.Attestation:
        attestation = await self._service.create(
            call.caller, convert.draft_from_proto(request.attestation)
        )
        return convert.attestation_to_proto(attestation, _now())

    async def GetAttestation(
        self, request: pb.GetAttestationRequest, call: Call
    ) -> resources_pb2.Attestation:
        attestation = await self._service.get(convert.parse_attestation_name(request.name, "name"))
        return convert.attestation_to_proto(attestation, _now())

    async def ListAttestations(
        self, request: pb.ListAttestationsRequest, call: Call
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
        self, request: pb.RevokeAttestationRequest, call: Call
    ) -> resources_pb2.Attestation:
        attestation = await self._service.revoke(
            call.caller, convert.parse_attestation_name(request.name, "name")
        )
        return convert.attestation_to_proto(attestation, _now())
