"""Domain claims and proofs: an agent shows it speaks for a domain. A proven domain is
identity, shown and searchable; it confers no trust (a domain costs an attacker little)."""

from __future__ import annotations

import httpx

from db.ports import UnitsOfWork
from server.domain import failures, refusals
from server.domain.agents import Agent
from server.domain.clock import Clock, utc_now
from server.domain.errors import InvalidArgument, NotFound
from server.domain.events import AgentDomainVerified
from server.domain.principal import Principal, require_agent
from server.domain_proofs import proof
from server.registry.cached import RegistryCache


def _not_found(agent_id: str) -> NotFound:
    return failures.agent_not_found(agent_id)


class DomainService:
    def __init__(
        self,
        uow: UnitsOfWork,
        cache: RegistryCache,
        *,
        allow_loopback: bool,
        timeout_s: float,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._cache = cache
        self._allow_loopback = allow_loopback
        self._timeout_s = timeout_s

    async def claim(self, caller: Principal | None, agent_id: str, domain: str) -> Agent:
        require_agent(caller, agent_id)
        normalised = proof.normalised_domain(domain, self._allow_loopback)
        if normalised is None:
            raise InvalidArgument.field("domain", "must be a host name such as agents.example.com")
        async with self._uow() as uow:
            if not await uow.domains.claim(agent_id, normalised):
                raise _not_found(agent_id)
            agent = await uow.agents.get(agent_id)
            await uow.commit()
        assert agent is not None
        await self._cache.agent_changed(agent_id)
        return agent

    async def verify(self, caller: Principal | None, agent_id: str) -> Agent:
        require_agent(caller, agent_id)
        async with self._uow() as uow:
            current = await uow.agents.get(agent_id)
        if current is None:
            raise _not_found(agent_id)
        if not current.domain:
            raise refusals.domain_not_claimed(agent_id)
        async with httpx.AsyncClient(timeout=self._timeout_s, trust_env=False) as client:
            try:
                await proof.check(
                    client,
                    current.domain,
                    current.public_key,
                    self._allow_loopback,
                    deadline_s=self._timeout_s,
                )
            except proof.ProofFailed as exc:
                raise refusals.domain_proof_failed(agent_id, current.domain, str(exc)) from exc
        async with self._uow() as uow:
            if await uow.domains.proven(agent_id, current.domain, self._clock()):
                await uow.events.add(AgentDomainVerified(agent_id=agent_id, domain=current.domain))
            agent = await uow.agents.get(agent_id)
            await uow.commit()
        assert agent is not None
        await self._cache.agent_changed(agent_id)
        return agent
