"""Rechecks proven domains; a proof that no longer holds is dropped (the agent's
`domain_verify_time` is cleared, and domain-proven searches stop finding it).

Each run takes the `domain_recheck_batch` proofs checked longest ago, if older than
`domain_recheck_interval_s`; a failed fetch counts as a failed proof, so a domain that
goes away loses its standing within one interval.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from scheduler.context import JobContext
from server.cache.aside import CacheAside
from server.domain.events import AgentDomainLost
from server.domain_proofs import proof
from server.events.dispatch import PostCommit
from server.registry.cached import RegistryCache

CONCURRENCY = 20


async def domain_recheck(context: JobContext) -> dict[str, Any]:
    settings = context.settings
    now = datetime.now(UTC)
    async with context.uow() as uow:
        due = await uow.domains.due(
            now - timedelta(seconds=settings.domain_recheck_interval_s),
            settings.domain_recheck_batch,
        )
    if not due:
        return {"checked": 0}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(domain: str, public_key: bytes) -> str | None:
        async with gate:
            try:
                await proof.check(
                    client,
                    domain,
                    public_key,
                    settings.domain_allow_loopback,
                    deadline_s=settings.domain_fetch_timeout_s,
                )
            except proof.ProofFailed as exc:
                return str(exc)
            return None

    async with httpx.AsyncClient(
        timeout=settings.domain_fetch_timeout_s, trust_env=False
    ) as client:
        errors = await asyncio.gather(*(one(domain, key) for _, domain, key in due))
    cache = RegistryCache(CacheAside(context.redis))

    async def retire(event: AgentDomainLost) -> None:  # its profile shows the proof no more
        await cache.agent_changed(event.agent_id)

    effects = PostCommit().on(AgentDomainLost, retire)
    lost: list[str] = []
    async with context.uow() as uow:
        for (agent_id, domain, _), error in zip(due, errors, strict=True):
            if error is None:
                await uow.domains.rechecked(agent_id, now)
            elif await uow.domains.lost(agent_id, domain, now):
                await uow.events.add(AgentDomainLost(agent_id=agent_id, domain=domain, error=error))
                lost.append(agent_id)
        await effects.commit(uow)
    return {"checked": len(due), "lost": len(lost)}
