"""The attestation and reputation calls of RegistryClient (a mixin, to keep modules small)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agentregistry_client import convert
from agentregistry_client._proto import attestation_service_pb2, resources_pb2
from agentregistry_client.client_core import ClientCore
from agentregistry_client.errors import NotRegistered
from agentregistry_client.signing import Claim, attestation_message


class TrustCalls:
    async def attest(
        self: ClientCore,
        subject: str,
        claim: Claim,
        *,
        expire_time: datetime | None = None,
        valid_for: timedelta | None = None,
    ) -> resources_pb2.Attestation:
        """Sign `claim` about `subject` over the canonical encoding and submit it."""
        issue_time = datetime.now(timezone.utc).replace(microsecond=0)
        if valid_for is not None:
            expire_time = issue_time + valid_for
        if expire_time is not None:
            expire_time = expire_time.astimezone(timezone.utc).replace(microsecond=0)
        if self.key is None:
            raise NotRegistered()
        subject = convert.agent_name(subject)
        message = attestation_message(self.agent, subject, claim, issue_time, expire_time)
        attestation = resources_pb2.Attestation(subject=subject, signature=self.key.sign(message))
        claim.apply(attestation)
        attestation.issue_time.FromDatetime(issue_time)
        if expire_time is not None:
            attestation.expire_time.FromDatetime(expire_time)
        request = attestation_service_pb2.CreateAttestationRequest(attestation=attestation)
        return await self.call(
            lambda md: self.attestations.CreateAttestation(request, metadata=md), True
        )

    async def revoke(self: ClientCore, name: str) -> resources_pb2.Attestation:
        request = attestation_service_pb2.RevokeAttestationRequest(name=name)
        return await self.call(
            lambda md: self.attestations.RevokeAttestation(request, metadata=md), True
        )

    async def get_attestation(self: ClientCore, name: str) -> resources_pb2.Attestation:
        request = attestation_service_pb2.GetAttestationRequest(name=name)
        return await self.call(lambda md: self.attestations.GetAttestation(request, metadata=md))

    async def list_attestations(
        self: ClientCore,
        subject: str | None = None,
        attester: str | None = None,
        include_inactive: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> attestation_service_pb2.ListAttestationsResponse:
        request = attestation_service_pb2.ListAttestationsRequest(
            subject=convert.agent_name(subject) if subject else "",
            attester=convert.agent_name(attester) if attester else "",
            include_inactive=include_inactive,
            page_size=page_size,
            page_token=page_token,
        )
        return await self.call(lambda md: self.attestations.ListAttestations(request, metadata=md))

    async def reputation(self: ClientCore, name: str | None = None) -> resources_pb2.Reputation:
        request = attestation_service_pb2.GetReputationRequest(
            name=convert.agent_name(name or self.agent) + "/reputation"
        )
        return await self.call(lambda md: self.reputations.GetReputation(request, metadata=md))

    async def leaderboard(
        self: ClientCore, capability: str | None = None, page_size: int = 0, page_token: str = ""
    ) -> attestation_service_pb2.ListLeaderboardResponse:
        """Agents by trust score, overall or for one capability."""
        request = attestation_service_pb2.ListLeaderboardRequest(
            capability=convert.capability_name(capability) if capability else "",
            page_size=page_size,
            page_token=page_token,
        )
        return await self.call(lambda md: self.reputations.ListLeaderboard(request, metadata=md))
