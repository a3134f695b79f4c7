"""Agent card use cases: registration and updates go through RegistryService, so a card
write is validated, evented (webhooks, change feed, embeddings) and cached like any other."""

from __future__ import annotations

from typing import Any

from db.ports import UnitOfWorkPort, UnitsOfWork
from server.cards import shape
from server.cards.domain_keys import domain_keys
from server.cards.fetch import fetch_card
from server.cards.mapping import card_to_profile, card_violations
from server.cards.registry_card import registry_card
from server.cards.signatures import (
    SignatureStatus,
    Verification,
    first_of,
    registered_key,
    verify_with,
)
from server.cards.versions import CURRENT, agent_to_card, lines_of
from server.domain import failures
from server.domain.agents import Agent, AgentType
from server.domain.errors import InvalidArgument, NotFound
from server.domain.principal import Principal, require_agent
from server.domain.validation import MAX_CAPABILITIES, key_violations, raise_if
from server.registry.service import RegistryService, WithAgent

_REFUSED = (SignatureStatus.SIGNATURE_INVALID, SignatureStatus.MALFORMED)


def _checked(verification: Verification) -> Verification:
    """A card whose signature fails is refused: it is forged, or changed since it was signed."""
    status = verification.status
    if status in _REFUSED:
        raise failures.card_signature_invalid(
            "no signature verifies against the agent's keys"
            if status is SignatureStatus.SIGNATURE_INVALID
            else "a signature is not a JWS (protected header and signature, base64url)"
        )
    return verification


def _keep(card: dict[str, Any]) -> WithAgent:
    """Stores the card as received, in the agent's own transaction."""

    async def write(uow: UnitOfWorkPort, agent_id: str) -> None:
        await uow.cards.put(agent_id, card)

    return write


class CardService:
    def __init__(
        self,
        registry: RegistryService,
        uow: UnitsOfWork,
        *,
        allow_loopback: bool,
        base_url: str,
        software_version: str,
        domain_allow_loopback: bool = False,
    ) -> None:
        """`allow_loopback`: card URLs may be loopback (as webhooks); `base_url`: the
        registry's public URL; `domain_allow_loopback`: as for domain proofs, which
        signing keys on a domain follow (server.cards.domain_keys)."""
        self._registry = registry
        self._uow = uow
        self._allow_loopback = allow_loopback
        self._base_url = base_url
        self._software_version = software_version
        self._domain_allow_loopback = domain_allow_loopback

    async def _verify(
        self, card: dict[str, Any], public_key: bytes, agent: Agent | None
    ) -> Verification:
        """With the agent's registered key, and keys bound to its proven domain."""
        domain = agent.domain if agent is not None and agent.domain_verified_at else None
        on_domain = await domain_keys(card, domain, allow_loopback=self._domain_allow_loopback)
        return verify_with(card, first_of(on_domain, registered_key(public_key)))

    async def _card(self, card: dict[str, Any] | None, card_uri: str) -> dict[str, Any]:
        if card is not None:
            return card
        if not card_uri:
            raise InvalidArgument.field("card", "set card or card_uri")
        return await fetch_card(card_uri, allow_loopback=self._allow_loopback)

    async def import_card(
        self,
        caller: Principal | None,
        card: dict[str, Any] | None,
        card_uri: str,
        agent_id: str | None,
        public_key: bytes,
        signature: bytes,
        agent_type: AgentType | None,
    ) -> tuple[Agent, bool, SignatureStatus]:
        """(agent, created, signature status); the agent is registered or updated."""
        if agent_id is not None:
            # Before any fetch: only the owner makes us fetch for it.
            require_agent(caller, agent_id)
        else:
            raise_if(key_violations("public_key", public_key))
        document = await self._card(card, card_uri)
        shape.check_limits(document)
        kind = agent_type or AgentType.SERVICE
        # Every problem of the card as received, at once.
        endpoint_field = card_to_profile(document, kind).endpoint_field
        try:
            if agent_id is not None:
                return await self._update(caller, agent_id, document, kind)
            verification = _checked(await self._verify(document, public_key, None))
            # Only what the signature covers counts (a 1.x card's 1.x fields).
            imported = card_to_profile(verification.card, kind)
            capabilities = await self._catalog_ids(imported.skill_ids)
            agent = await self._registry.register(
                imported.profile, public_key, signature, capabilities, _keep(document)
            )
        except InvalidArgument as exc:
            raise card_violations(exc, endpoint_field) from exc
        return agent, True, verification.status

    async def _update(
        self, caller: Principal | None, agent_id: str, card: dict[str, Any], kind: AgentType
    ) -> tuple[Agent, bool, SignatureStatus]:
        current = await self._registry.get(agent_id)
        verification = _checked(await self._verify(card, current.public_key, current))
        profile, before = card_to_profile(verification.card, kind).profile, current.profile
        changes = {
            "display_name": profile.display_name,
            "description": profile.description,
            "endpoint_uri": profile.endpoint_uri,
            # A card without skill tags leaves the agent's tags alone.
            "tags": profile.tags or before.tags,
            "protocols": tuple(dict.fromkeys((*before.protocols, *profile.protocols))),
            "metadata": {**before.metadata, **profile.metadata},
        }
        agent = await self._registry.update(
            caller, agent_id, changes, list(changes), "", with_agent=_keep(card)
        )
        return agent, False, verification.status

    async def _catalog_ids(self, skill_ids: tuple[str, ...]) -> list[str]:
        """The skill ids that name catalog capabilities (the catalog is cached)."""
        found = []
        for skill_id in skill_ids[:MAX_CAPABILITIES]:
            try:
                await self._registry.get_capability(skill_id)
            except NotFound:
                continue
            found.append(skill_id)
        return found

    async def card(self, agent_id: str, version: str = CURRENT) -> dict[str, Any]:
        """The card the agent published, unchanged (signatures still verify), if it is in
        the A2A line `version`; otherwise the registry's card of the agent in that line
        (server.cards.versions)."""
        agent = await self._registry.get(agent_id)
        async with self._uow() as uow:
            published = await uow.cards.get(agent_id)
        if published is not None and version in lines_of(published):
            return published
        capabilities = [await self._registry.get_capability(c) for c in agent.capabilities]
        return agent_to_card(agent, capabilities, self._base_url, version, published)

    def registry_card(self, version: str = CURRENT) -> dict[str, Any]:
        """The registry's own card (server.cards.registry_card)."""
        return registry_card(self._base_url, self._software_version, version)

    async def verify(self, agent_id: str, card: dict[str, Any]) -> SignatureStatus:
        shape.check_limits(card)
        signatures = card.get("signatures", [])
        if not isinstance(signatures, list):
            raise InvalidArgument.field("card.signatures", "must be a list of JWS objects")
        agent = await self._registry.get(agent_id)
        return (await self._verify(card, agent.public_key, agent)).status
